import { expect, Page, test } from '@playwright/test';
import { hydrated, signIn } from './helpers';

const TOKEN = /^kw_(live|stg|dev)_[0-9A-Za-z]{38}$/;
const run = `${Date.now() % 100000}`;

async function openKeys(page: Page, email: string) {
  await signIn(page, email);
  await hydrated(page);
}

/** Creates a key through the dialog and returns the revealed token (dialog still open). */
async function createKey(page: Page, name: string, opts: { type?: string; env?: string; permissions?: string[] } = {}) {
  await page.getByRole('button', { name: 'Create API key' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  if (opts.env) await dialog.getByLabel('Environment').selectOption(opts.env);
  if (opts.type) await dialog.getByLabel('Type', { exact: true }).selectOption(opts.type);
  for (const p of opts.permissions ?? []) await dialog.getByRole('checkbox', { name: p }).check();
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const field = dialog.getByRole('textbox', { name: 'API key' });
  await expect(field).toHaveValue(TOKEN);
  return field.inputValue();
}

/** Done, then Close on the reminder. */
async function finishReveal(page: Page) {
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
}

function row(page: Page, name: string) {
  return page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: name });
}

async function rowAction(page: Page, name: string, action: string) {
  await page.getByRole('button', { name: `Actions for ${name}`, exact: true }).click();
  await page.getByRole('button', { name: action, exact: true }).click();
}

/** A new key called `name`, made and revoked through the dialogs. */
async function revokedKey(page: Page, name: string) {
  await createKey(page, name);
  await finishReveal(page);
  await revokeKey(page, name);
}

/** Revokes the key called `name` through its dialog and waits for the list to say so. */
async function revokeKey(page: Page, name: string) {
  await rowAction(page, name, 'Revoke');
  await page.getByRole('dialog', { name: `Revoke ${name}` }).getByRole('button', { name: 'Revoke' }).click();
  await expect(row(page, name)).toContainText('Revoked');
}

test('an admin creates keys of every type and environment; each is revealed once', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await openKeys(page, 'admin@acme.test');
  const cases = [
    { type: 'Read', env: 'production', tag: 'live', perms: 'data:read' },
    { type: 'Write', env: 'staging', tag: 'stg', perms: 'events:write' },
    { type: 'Admin', env: 'development', tag: 'dev', perms: 'keys:write' },
    { type: 'Custom', env: 'production', tag: 'live', perms: 'data:read, events:write', permissions: ['data:read', 'events:write'] },
  ];
  for (const c of cases) {
    const name = `${c.type} ${c.env} ${run}`;
    const token = await createKey(page, name, { type: c.type, env: c.env, permissions: c.permissions });
    expect(token.startsWith(`kw_${c.tag}_`)).toBe(true);
    const dialog = page.getByRole('dialog', { name: 'Create API key' });
    await expect(dialog.getByText('will not be shown again')).toBeVisible();
    await expect(dialog.getByText('never put it in client-side code')).toHaveCount(c.type === 'Admin' ? 1 : 0);
    if (c.type === 'Read') {
      await dialog.getByRole('button', { name: 'Copy' }).click();
      await expect(dialog.getByRole('button', { name: 'Copied' })).toBeVisible();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
      await expect(dialog.getByRole('button', { name: 'Copy' })).toBeVisible({ timeout: 4000 });
    }
    await finishReveal(page);
    const r = row(page, name);
    await expect(r).toContainText(`${token.slice(0, token.indexOf('_', 3) + 5)}••••`);
    // One permission is shown; several are counted, listed in full on hover.
    const shown = c.perms.includes(',') || c.type === 'Admin' ? r.locator('.hint[title]') : r;
    if (shown === r) {
      await expect(r).toContainText(c.perms);
    } else {
      await expect(shown).toHaveAttribute('title', new RegExp(c.perms));
      await expect(shown).toContainText('permissions');
    }
    await expect(r).toContainText('Active');
    expect(await page.content()).not.toContain(token);
  }
});

test('closing the reveal asks first; Go back keeps the key, Close removes it from the page', async ({ page }) => {
  await openKeys(page, 'admin@acme.test');
  const name = `Reminder ${run}`;
  const token = await createKey(page, name);
  await page.keyboard.press('Escape');
  await expect(page.getByText('Have you copied your key? It will not be shown again.')).toBeVisible();
  await page.getByRole('button', { name: 'Go back' }).click();
  await expect(page.getByRole('textbox', { name: 'API key' })).toHaveValue(token);
  // The × asks too.
  await page.getByRole('button', { name: 'Close dialog' }).click();
  await page.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  expect(await page.content()).not.toContain(token);
  await expect(row(page, name)).toContainText('••••');
  // Focus returns to the control that opened the dialog.
  await expect(page.getByRole('button', { name: 'Create API key' })).toBeFocused();
});

test('server errors show inside the dialog and keep what was typed', async ({ page }) => {
  await openKeys(page, 'admin@acme.test');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Name', { exact: true }).fill('Production Web SDK');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(dialog.getByRole('alert')).toContainText('already exists');
  await expect(dialog.getByLabel('Name', { exact: true })).toHaveValue('Production Web SDK');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
});

test('edit, regenerate with and without grace, disable and enable, revoke', async ({ page }) => {
  await openKeys(page, 'admin@acme.test');
  const name = `Lifecycle ${run}`;
  const first = await createKey(page, name);
  await finishReveal(page);

  await rowAction(page, name, 'Edit');
  const edit = page.getByRole('dialog', { name: `Edit ${name}` });
  await edit.getByLabel('Rate limit', { exact: true }).fill('42');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toHaveCount(0);
  await page.getByRole('link', { name, exact: true }).click();
  await expect(page.getByText('42 / minute', { exact: true })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Audit entries' })).toContainText('key.updated');
  await page.getByRole('link', { name: '← All API keys' }).click();
  await hydrated(page);

  await rowAction(page, name, 'Regenerate');
  let regen = page.getByRole('dialog', { name: `Regenerate ${name}` });
  await regen.getByRole('button', { name: 'Regenerate' }).click();
  const second = await regen.getByRole('textbox', { name: 'API key' }).inputValue();
  expect(second).toMatch(TOKEN);
  expect(second).not.toBe(first);
  await finishReveal(page);
  await expect(row(page, name)).not.toContainText('Old secret expires');

  await rowAction(page, name, 'Regenerate');
  regen = page.getByRole('dialog', { name: `Regenerate ${name}` });
  await regen.getByRole('radio', { name: 'Keep the old secret for 24 hours' }).check();
  await regen.getByRole('button', { name: 'Regenerate' }).click();
  await expect(regen.getByRole('textbox', { name: 'API key' })).toHaveValue(TOKEN);
  await finishReveal(page);
  // 24 h from the regenerate; the page may load a second later.
  await expect(row(page, name)).toContainText(/Old secret expires in (1 day|23 hours)/);

  await rowAction(page, name, 'Disable');
  const disable = page.getByRole('dialog', { name: `Disable ${name}` });
  await expect(disable).toContainText('will fail');
  await disable.getByRole('button', { name: 'Disable' }).click();
  await expect(row(page, name)).toContainText('Disabled');
  await rowAction(page, name, 'Enable');
  await expect(row(page, name)).toContainText('Active');

  await rowAction(page, name, 'Revoke');
  const revoke = page.getByRole('dialog', { name: `Revoke ${name}` });
  await expect(revoke).toContainText('fail at once');
  await page.keyboard.press('Escape');
  await expect(page.getByRole('button', { name: `Actions for ${name}` })).toBeFocused();
  await revokeKey(page, name);
  // An admin has nothing left to do with a revoked key.
  await expect(page.getByRole('button', { name: `Actions for ${name}` })).toHaveCount(0);
});

test('an owner deletes a revoked key after typing its name', async ({ page }) => {
  await openKeys(page, 'owner@acme.test');
  const name = `Doomed ${run}`;
  await revokedKey(page, name);
  // Only Delete remains for the owner.
  await page.getByRole('button', { name: `Actions for ${name}` }).click();
  await expect(page.getByRole('button', { name: 'Edit', exact: true })).toHaveCount(0);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Delete ${name}` });
  const confirm = dialog.getByRole('button', { name: 'Delete' });
  await expect(confirm).toBeDisabled();
  await dialog.getByLabel('Type the key name to confirm').fill('Doomed');
  await expect(confirm).toBeDisabled();
  await dialog.getByLabel('Type the key name to confirm').fill(name);
  await expect(confirm).toBeEnabled();
  await confirm.click();
  await expect(row(page, name)).toHaveCount(0);
});

test('members and viewers get a read-only list; viewers no detail page; admins no Delete', async ({ page }) => {
  for (const role of ['member', 'viewer']) {
    await openKeys(page, `${role}@acme.test`);
    await expect(row(page, 'Production Web SDK')).toContainText('kw_live_');
    await expect(page.getByRole('button', { name: 'Create API key' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: /^Actions for / })).toHaveCount(0);
    for (const control of ['Edit', 'Regenerate', 'Disable', 'Revoke', 'Delete']) {
      await expect(page.getByRole('button', { name: control, exact: true })).toHaveCount(0);
    }
    await expect(page.getByRole('link', { name: 'Production Web SDK' })).toHaveCount(role === 'member' ? 1 : 0);
    await page.getByLabel('Account menu').click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
  }
  await openKeys(page, 'viewer@acme.test');
  const href = await (async () => {
    const admin = await page.context().browser()!.newContext();
    const p = await admin.newPage();
    await openKeys(p, 'admin@acme.test');
    const h = await p.getByRole('link', { name: 'Production Web SDK' }).getAttribute('href');
    await p.getByRole('button', { name: 'Actions for Production Web SDK' }).click();
    await expect(p.getByRole('button', { name: 'Revoke', exact: true })).toBeVisible();
    await expect(p.getByRole('button', { name: 'Delete', exact: true })).toHaveCount(0);
    await admin.close();
    return h!;
  })();
  await page.goto(href);
  await expect(page.getByRole('heading', { name: 'No access' })).toBeVisible();
});

test('200 keys paginate, search and filter', async ({ page }) => {
  await openKeys(page, 'admin@acme.test');
  const prefix = `Bulk ${run}`;
  for (let i = 0; i < 200; i++) {
    const res = await page.request.post('/api/keys/create', {
      data: {
        slug: 'acme',
        input: { name: `${prefix} ${String(i).padStart(3, '0')}`, environment: i % 2 ? 'staging' : 'production', key_type: 'Read', permissions: [], expiry: 'never', expiry_date: '', rate_limit: '', rate_window_secs: '' },
      },
    });
    expect(res.status()).toBe(200);
  }
  await page.getByLabel('Search by name').fill(prefix);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByText('1–25 of 200 matching keys')).toBeVisible();
  await expect(page.getByRole('table', { name: 'API keys' }).getByRole('row')).toHaveCount(26);
  await page.getByRole('link', { name: 'Next page' }).click();
  await expect(page.getByText('26–50 of 200 matching keys')).toBeVisible();
  await expect(page.getByText('Page 2 of 8')).toBeVisible();

  await page.getByLabel('Search by name').fill(`${prefix} 01`);
  await page.getByLabel('Filter by environment').selectOption('staging');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByText('1–5 of 5 matching keys')).toBeVisible();
  for (const n of ['011', '013', '015', '017', '019']) {
    await expect(row(page, `${prefix} ${n}`)).toHaveCount(1);
  }
});

test('the audit log lists key changes newest first and filters by action and key', async ({ page }) => {
  await openKeys(page, 'admin@acme.test');
  const name = `Audited ${run}`;
  await revokedKey(page, name);

  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Audit log' }).click();
  const entries = page.getByRole('table', { name: 'Audit entries' });
  await expect(entries).toBeVisible();
  await page.getByLabel('Filter by action').selectOption('key.revoked');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(entries.getByRole('row').filter({ hasText: name })).toHaveCount(1);
  await expect(entries).not.toContainText('key.created');
  // A key's name leads to its own trail.
  await entries.getByRole('link', { name }).click();
  await expect(page.getByRole('table', { name: 'Audit entries' }).getByRole('row')).toHaveCount(3);
  await expect(page.getByRole('table', { name: 'Audit entries' })).toContainText('key.created');
  await expect(page.getByRole('table', { name: 'Audit entries' })).toContainText('admin@acme.test');
  // Changes read in words, never as JSON.
  const created = page.getByRole('table', { name: 'Audit entries' }).getByRole('row').filter({ hasText: 'key.created' });
  await expect(created).toContainText('Environment: Production');
  await expect(created).toContainText('Expires: Never');
  await expect(created).not.toContainText('{"');
});
