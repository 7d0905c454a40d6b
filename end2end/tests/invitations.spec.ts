import { expect, test } from '@playwright/test';
import { expectSpent, hydrated, memberCell, signIn, uniqueEmail } from './helpers';

test('an owner invites a member, who joins read-only from a fresh browser; the owner then removes them', async ({
  page,
  browser,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const email = uniqueEmail('newcomer');
  await signIn(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'Members' }).click();
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Role', { exact: true }).selectOption('member');
  await page.getByRole('button', { name: 'Invite' }).click();

  const linkField = page.getByLabel('Invitation link');
  await expect(linkField).toHaveValue(/^http:\/\/127\.0\.0\.1:3200\/invite\/[A-Za-z0-9_-]{43}$/);
  const link = await linkField.inputValue();
  await page.getByRole('button', { name: 'Copy' }).click();
  await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  await expect(page.getByRole('button', { name: 'Copy' })).toBeVisible({ timeout: 5000 });
  await expect(page.getByRole('table', { name: 'Pending invitations' }).getByRole('cell', { name: email, exact: true })).toBeVisible();

  // The invitee, in a browser that has never signed in.
  const fresh = await browser.newContext();
  const invitee = await fresh.newPage();
  await invitee.goto(link);
  await expect(invitee.getByRole('heading', { name: 'Join Acme Inc.' })).toBeVisible();
  await hydrated(invitee);
  await invitee.getByLabel('Password', { exact: true }).fill('newcomer-password');
  await invitee.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(invitee).toHaveURL(/\/orgs\/acme\/settings\/api-keys$/);
  await expect(invitee.locator('.org-card')).toContainText('Member');
  await invitee.getByRole('link', { name: 'Members' }).click();
  await expect(memberCell(invitee, email)).toBeVisible();
  await expect(invitee.getByRole('button', { name: 'Invite' })).toHaveCount(0);

  // The link works once.
  await expectSpent(browser, link, 'This invitation cannot be used');

  // The owner promotes, then removes the newcomer; their next request is refused.
  await page.reload();
  await hydrated(page);
  await page.getByRole('combobox', { name: `Role for ${email}` }).selectOption('viewer');
  const row = page.getByRole('row').filter({ hasText: email });
  await row.getByRole('button', { name: 'Change role' }).click();
  await expect(row.getByRole('cell', { name: 'Viewer', exact: true })).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(row.getByRole('cell', { name: 'Viewer', exact: true })).toBeVisible();

  const remove = page.getByRole('button', { name: `Remove ${email}` });
  await remove.click();
  const dialog = page.getByRole('dialog', { name: 'Remove member' });
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(remove).toBeFocused();
  await remove.click();
  await dialog.getByRole('button', { name: 'Remove' }).click();
  await expect(memberCell(page, email)).toHaveCount(0);

  await invitee.goto('/orgs/acme/settings/members');
  await expect(invitee.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await fresh.close();
});

test('the last owner cannot be demoted, and the error says why', async ({ page }) => {
  await signIn(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'Members' }).click();
  await hydrated(page);
  await page.getByRole('combobox', { name: 'Role for owner@acme.test' }).selectOption('admin');
  const row = page.getByRole('row').filter({ hasText: 'owner@acme.test' });
  await row.getByRole('button', { name: 'Change role' }).click();
  await expect(page.getByRole('alert')).toContainText('at least one owner');
});
