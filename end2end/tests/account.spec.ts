import { expect, test } from '@playwright/test';
import { accessible, hydrated, signIn, signUp, totp } from './helpers';

const run = Date.now() % 1_000_000;

test('an owner renames the org and sets a 90-day maximum lifetime; the create dialog then offers no Never', async ({ page }) => {
  const slug = `policy-${run}`;
  await signUp(page, slug, `owner-${run}@policy.test`, 'a-long-enough-password');
  await page.getByRole('link', { name: 'Organisation', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/orgs/${slug}/settings/organization$`));
  await hydrated(page);
  await page.getByLabel('Organisation name').fill('Policy Co.');
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/org/rename') && r.ok()),
    page.getByRole('button', { name: 'Save', exact: true }).click(),
  ]);
  await page.reload();
  await expect(page.locator('.org-card')).toContainText('Policy Co.');
  await hydrated(page);
  await page.getByLabel('Maximum key lifetime').selectOption('90');
  await page.getByRole('button', { name: 'Save policies' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Policies saved.' })).toBeVisible();

  await page.getByRole('link', { name: 'API Keys', exact: true }).click();
  await hydrated(page);
  await page.getByRole('button', { name: 'Create API key' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  const expires = dialog.getByLabel('Expires');
  await expect(expires.locator('option')).toHaveText(['In 30 days', 'In 90 days', 'On a date…']);
  await dialog.getByLabel('Name', { exact: true }).fill('Bounded');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(dialog.getByRole('textbox', { name: 'API key' })).toBeVisible();

  // The audit log tells the changes in words.
  await page.goto(`/orgs/${slug}/settings/audit-log`);
  await expect(page.getByText('Maximum key lifetime: None → 90 days')).toBeVisible();
});

test('an admin sees the Organisation page without Save; members get no link', async ({ page }) => {
  await signIn(page, 'admin@acme.test');
  await page.getByRole('link', { name: 'Organisation', exact: true }).click();
  await expect(page.getByLabel('Organisation name')).toBeDisabled();
  await expect(page.getByLabel('Maximum key lifetime')).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Save policies' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Save', exact: true })).toHaveCount(0);
  await expect(page.getByText('Only owners can change these.')).toBeVisible();

  await page.context().clearCookies();
  await signIn(page, 'member@acme.test');
  await expect(page.getByRole('link', { name: 'Organisation', exact: true })).toHaveCount(0);
  await page.goto('/orgs/acme/settings/organization');
  await expect(page.getByText('You do not have permission to do that.')).toBeVisible();
});

test('two-factor sign-in: set up from the shown secret, then password + code, then a recovery code', async ({ page }) => {
  const email = `twofa-${run}@policy.test`;
  const password = 'a-long-enough-password';
  await signUp(page, `twofa-${run}`, email, password);
  await page.getByLabel('Account menu').click();
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();
  await hydrated(page);
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  const secret = await page.getByLabel('Secret', { exact: true }).inputValue();
  await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
  await accessible(page, 'two-factor set-up');
  await page.getByLabel('Authentication code').fill(totp(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
  await expect(codes).toHaveCount(10);
  await accessible(page, 'recovery codes');
  const recovery = await codes.nth(0).innerText();
  await expect(page.getByText('Two-factor sign-in is on. 10 recovery codes left.')).toBeVisible();

  // Password and code. The code of the step used to turn it on is spent:
  // the next step's is accepted (one step either side).
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/login\/verify$/);
  await hydrated(page);
  await accessible(page, 'the second sign-in step');
  await page.getByLabel('Authentication code').fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('alert')).toContainText('not right');
  await page.getByLabel('Authentication code').fill(totp(secret, Date.now() / 1000 + 30));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(new RegExp(`/orgs/twofa-${run}/settings/api-keys$`));

  // Then with a recovery code.
  await page.goto('/account');
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out', exact: true }).first().click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await hydrated(page);
  await page.getByLabel('Authentication code').fill(recovery);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(new RegExp(`/orgs/twofa-${run}/settings/api-keys$`));
  await page.goto('/account');
  await expect(page.getByText('Two-factor sign-in is on. 9 recovery codes left.')).toBeVisible();
});

test('sign out everywhere else ends another browser; a new password signs in', async ({ browser }) => {
  const email = `sessions-${run}@policy.test`;
  const first = await browser.newContext();
  const here = await first.newPage();
  await signUp(here, `sessions-${run}`, email, 'the-first-password');
  const second = await browser.newContext();
  const there = await second.newPage();
  await signIn(there, email, 'the-first-password');

  await here.goto('/account');
  await hydrated(here);
  const sessions = here.getByRole('table', { name: 'Sessions' });
  await expect(sessions.getByRole('row')).toHaveCount(3);
  await expect(sessions.getByText('This session')).toBeVisible();
  await here.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await expect(sessions.getByRole('row')).toHaveCount(2);
  await there.reload();
  await expect(there).toHaveURL(/\/login/);

  await here.getByLabel('Current password').fill('the-first-password');
  await here.getByLabel('New password').fill('the-second-password');
  await here.getByRole('button', { name: 'Change password' }).click();
  await expect(here.getByText('Password changed. Your other sessions were signed out.')).toBeVisible();
  await signIn(there, email, 'the-second-password');
  await first.close();
  await second.close();
});
