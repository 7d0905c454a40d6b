import { expect, Page, test } from '@playwright/test';
import { accessible, DemoRole, hydrated, ROLES, signIn } from './helpers';

// axe-core on every page and dialog, for every role, in the light and the
// dark theme: no serious or critical WCAG 2.1 A/AA violation anywhere.

/** The page in both themes. */
async function bothThemes(page: Page, what: string) {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await accessible(page, `${what} (${colorScheme})`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function dialog(page: Page, opener: () => Promise<void>, name: string | RegExp, what: string) {
  await opener();
  await expect(page.getByRole('dialog', { name })).toBeVisible();
  await accessible(page, what);
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog')).toHaveCount(0);
}

test('the signed-out pages', async ({ page }) => {
  for (const [path, heading] of [
    ['/login', 'Sign in'],
    ['/signup', 'Create your organisation'],
    ['/invite/not-a-real-invitation-token', 'This invitation cannot be used'],
    ['/portal/not-a-real-sign-in-link', 'This sign-in link cannot be used'],
    ['/no/such/page', 'Not found'],
  ]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole('heading', { name: heading })).toBeVisible();
    await bothThemes(page, path);
  }
  // First run, on the instance with no users yet.
  await page.goto('http://127.0.0.1:3201/setup');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Set up Keywarden' })).toBeVisible();
  await bothThemes(page, '/setup');
});

const manages: Record<DemoRole, boolean> = { owner: true, admin: true, member: false, viewer: false };
const seesLogs: Record<DemoRole, boolean> = { owner: true, admin: true, member: true, viewer: false };

for (const role of ROLES) {
  test(`every page and dialog a ${role} can open`, async ({ page }) => {
    await signIn(page, `${role}@acme.test`);
    await hydrated(page);
    await bothThemes(page, `${role}: API keys`);

    if (manages[role]) {
      const name = `Accessible ${role} ${Date.now()}`;
      await page.getByRole('button', { name: 'Create API key' }).first().click();
      const create = page.getByRole('dialog', { name: 'Create API key' });
      await create.getByText('More options').click();
      await accessible(page, `${role}: create dialog`);
      await create.getByLabel('Name', { exact: true }).fill(name);
      await create.getByRole('button', { name: 'Create', exact: true }).click();
      await expect(create.getByRole('textbox', { name: 'API key' })).toBeVisible();
      await accessible(page, `${role}: reveal dialog`);
      await create.getByRole('button', { name: 'Done' }).click();
      await accessible(page, `${role}: the reveal's reminder`);
      await page.getByRole('button', { name: 'Close', exact: true }).click();

      const actions = async (action: string) => {
        await page.getByRole('button', { name: `Actions for ${name}`, exact: true }).click();
        await page.getByRole('button', { name: action, exact: true }).click();
      };
      await page.getByRole('button', { name: `Actions for ${name}`, exact: true }).click();
      await accessible(page, `${role}: row actions menu`);
      await page.keyboard.press('Escape');
      await dialog(page, () => actions('Edit'), `Edit ${name}`, `${role}: edit dialog`);
      await dialog(page, () => actions('Regenerate'), `Regenerate ${name}`, `${role}: regenerate dialog`);
      await dialog(page, () => actions('Disable'), `Disable ${name}`, `${role}: disable dialog`);
      await dialog(page, () => actions('Revoke'), `Revoke ${name}`, `${role}: revoke dialog`);
      if (role === 'owner') {
        await actions('Revoke');
        await page.getByRole('dialog', { name: `Revoke ${name}` }).getByRole('button', { name: 'Revoke' }).click();
        await expect(page.getByRole('dialog')).toHaveCount(0);
        await dialog(page, () => actions('Delete'), `Delete ${name}`, `${role}: delete dialog`);
      }
    }

    // A key's detail page, where the role may open one.
    const detail = page.getByRole('table', { name: 'API keys' }).getByRole('link').first();
    if (await detail.count()) {
      await detail.click();
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      await hydrated(page);
      await bothThemes(page, `${role}: key detail`);
    }

    // Each settings page the role's sidebar offers.
    const pages = [['Members', true], ['Audit log', manages[role]], ['Organisation', manages[role]], ['Request log', seesLogs[role]]] as const;
    for (const [name, offered] of pages) {
      if (!offered) continue;
      await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name }).click();
      await expect(page.getByRole('heading', { name, exact: true, level: 1 })).toBeVisible();
      await bothThemes(page, `${role}: ${name}`);
    }
    await page.goto('/account');
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'Account' })).toBeVisible();
    await bothThemes(page, `${role}: account`);
  });
}

test('the admin console', async ({ page }) => {
  await signIn(page, 'owner@acme.test');
  await page.goto('/admin');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Admin console' })).toBeVisible();
  await bothThemes(page, 'admin console');
});

test('keyboard only: create a key, reveal it, copy it, close', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signIn(page, 'admin@acme.test');
  await hydrated(page);
  const create = page.getByRole('button', { name: 'Create API key' }).first();
  // Tab from the top of the page to the Create button.
  await page.locator('body').focus();
  for (let i = 0; i < 40 && !(await create.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(create).toBeFocused();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  // The dialog takes the focus, on its first field.
  await expect(dialog.getByLabel('Name', { exact: true })).toBeFocused();
  const name = `Keyboard ${Date.now()}`;
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  const token = dialog.getByRole('textbox', { name: 'API key' });
  await expect(token).toBeVisible();
  const secret = await token.inputValue();
  // Tab to Copy, press it, and the key is on the clipboard.
  const copy = dialog.getByRole('button', { name: 'Copy' });
  for (let i = 0; i < 10 && !(await copy.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(copy).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(dialog.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  // Tab to Done, then confirm Close, all by keyboard.
  const done = dialog.getByRole('button', { name: 'Done' });
  for (let i = 0; i < 10 && !(await done.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(done).toBeFocused();
  await page.keyboard.press('Enter');
  const close = page.getByRole('button', { name: 'Close', exact: true });
  for (let i = 0; i < 10 && !(await close.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(close).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('dialog')).toHaveCount(0);
  // Focus is back where it started, and the key is listed.
  await expect(create).toBeFocused();
  await expect(page.getByRole('table', { name: 'API keys' })).toContainText(name);
});
