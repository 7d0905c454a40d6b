import { expect, test } from '@playwright/test';
import { DEMO_PASSWORD, hydrated, signIn } from './helpers';

test('a wrong password shows the one generic error and keeps the email', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill('member@acme.test');
  await page.getByLabel('Password', { exact: true }).fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password.');
  await expect(page.getByLabel('Email')).toHaveValue('member@acme.test');

  // An unknown email gets exactly the same answer.
  await page.getByLabel('Email').fill('nobody@acme.test');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password.');
});

test('the password field can be revealed once the page is hydrated', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  const field = page.getByLabel('Password', { exact: true });
  await expect(field).toHaveAttribute('type', 'password');
  await page.getByRole('button', { name: 'Show password' }).click();
  await expect(field).toHaveAttribute('type', 'text');
  await page.getByRole('button', { name: 'Hide password' }).click();
  await expect(field).toHaveAttribute('type', 'password');
});

test('signing out ends the session', async ({ page }) => {
  await signIn(page, 'viewer@acme.test');
  await page.getByLabel('Account menu').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/orgs/acme/settings/members');
  await expect(page).toHaveURL(/\/login\?next=/);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the login form works as a plain form, errors included', async ({ page }) => {
    await page.goto('/orgs/acme/settings/members');
    await expect(page).toHaveURL(/\/login\?next=\/orgs\/acme\/settings\/members$/);

    await page.getByLabel('Email').fill('admin@acme.test');
    await page.getByLabel('Password', { exact: true }).fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Invalid email or password.');

    await page.getByLabel('Email').fill('admin@acme.test');
    await page.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/orgs\/acme\/settings\/(api-keys|members)$/);
    await expect(page.getByRole('navigation', { name: 'Settings' })).toBeVisible();
  });
});
