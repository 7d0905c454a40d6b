import { expect, test } from '@playwright/test';
import { hydrated } from './helpers';

// Runs against the empty instance: the very first visit creates the owner.
test.use({ baseURL: 'http://127.0.0.1:3201' });

test('a fresh install sends every page to /setup, which creates the first org and owner once', async ({ page, browser }) => {
  await page.goto('/orgs/anything/settings/members');
  await expect(page).toHaveURL(/\/setup$/);
  await hydrated(page);

  await page.getByLabel('Organisation name').fill('Initech');
  await page.getByLabel('URL name').fill('initech');
  // The browser accepts "founder@initech" as an email; the server does not.
  await page.getByLabel('Email').fill('founder@initech');
  await page.getByLabel('Password', { exact: true }).fill('a-long-enough-password');
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await expect(page.getByRole('alert')).toContainText('Enter a valid email address');
  // Nothing typed is lost on error.
  await expect(page.getByLabel('Organisation name')).toHaveValue('Initech');

  await page.getByLabel('Email').fill('founder@initech.test');
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await expect(page).toHaveURL(/\/orgs\/initech\/settings\/api-keys$/);
  await expect(page.getByRole('heading', { name: 'API Keys', exact: true })).toBeVisible();
  // A new org has no keys: the empty state explains them and offers the first.
  await expect(page.getByRole('heading', { name: 'No API keys yet' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create API key' })).toHaveCount(2);
  await expect(page.locator('.org-card')).toContainText('Initech');
  await expect(page.locator('.org-card')).toContainText('Owner');

  // Once a user exists, /setup is closed, even to a new visitor.
  const other = await browser.newContext();
  const visitor = await other.newPage();
  await visitor.goto('/setup');
  await expect(visitor).toHaveURL(/\/login$/);
  await other.close();
});
