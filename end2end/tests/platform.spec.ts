import { expect, test } from '@playwright/test';
import { expectSpent, hydrated, signIn, uniqueEmail } from './helpers';

/** The demo instance's operator token (playwright.config.ts). */
const OPERATOR_TOKEN = 'e2e-operator-token-0123456789abcdef';

const run = `${Date.now() % 100000}`;

test('an instance admin creates an org whose owner joins, makes a key, and is then suspended', async ({ page, browser }) => {
  const slug = `org-${run}`;
  const name = `Initech ${run}`;
  const ownerEmail = uniqueEmail('founder');
  await signIn(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'Admin console' }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Slug').fill(slug);
  await page.getByLabel('Owner email').fill(ownerEmail);
  await page.getByRole('button', { name: 'Create organisation' }).click();
  const linkField = page.getByLabel('Invitation link');
  await expect(linkField).toHaveValue(/^http:\/\/127\.0\.0\.1:3200\/invite\/[A-Za-z0-9_-]{43}$/);
  const link = await linkField.inputValue();
  const orgRow = page.getByRole('table', { name: 'Organisations' }).getByRole('row').filter({ hasText: slug });
  await expect(orgRow).toContainText(name);
  await expect(orgRow).toContainText('Active');

  // The owner, in a browser that has never signed in.
  const fresh = await browser.newContext();
  const owner = await fresh.newPage();
  await owner.goto(link);
  await expect(owner.getByRole('heading', { name: `Join ${name}` })).toBeVisible();
  await hydrated(owner);
  await owner.getByLabel('Password', { exact: true }).fill('founder-password');
  await owner.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(owner).toHaveURL(new RegExp(`/orgs/${slug}/settings/api-keys$`));
  await expect(owner.locator('.org-card')).toContainText('Owner');
  await hydrated(owner);
  await owner.getByRole('button', { name: 'Create API key' }).first().click();
  const dialog = owner.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Name', { exact: true }).fill('First key');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(dialog.getByRole('textbox', { name: 'API key' })).toHaveValue(/^kw_live_/);
  await owner.getByRole('button', { name: 'Done' }).click();
  await owner.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(owner.getByRole('table', { name: 'API keys' })).toContainText('First key');

  // The admin suspends it, after a confirmation.
  await orgRow.getByRole('button', { name: 'Suspend' }).click();
  const confirm = page.getByRole('dialog', { name: `Suspend ${name}?` });
  await expect(confirm).toContainText('nothing can be changed');
  await confirm.getByRole('button', { name: 'Suspend' }).click();
  await expect(orgRow).toContainText('Suspended');
  await expect(orgRow.getByRole('button', { name: 'Resume' })).toBeVisible();

  // The owner sees the banner and no Create button.
  await owner.reload();
  await expect(owner.getByRole('status').filter({ hasText: 'This organisation is suspended' })).toBeVisible();
  await expect(owner.getByRole('table', { name: 'API keys' })).toContainText('First key');
  await expect(owner.getByRole('button', { name: 'Create API key' })).toHaveCount(0);
  await expect(owner.getByRole('button', { name: 'Actions for First key' })).toHaveCount(0);

  // Resumed: the controls are back.
  await orgRow.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('dialog', { name: `Resume ${name}?` }).getByRole('button', { name: 'Resume' }).click();
  await expect(orgRow).toContainText('Active');
  await owner.reload();
  await expect(owner.getByRole('button', { name: 'Create API key' }).first()).toBeVisible();
  await fresh.close();
});

test('the console searches and renames organisations', async ({ page }) => {
  await signIn(page, 'owner@acme.test');
  await page.goto('/admin?q=glob');
  await hydrated(page);
  const table = page.getByRole('table', { name: 'Organisations' });
  await expect(table.getByRole('row')).toHaveCount(2);
  const row = table.getByRole('row').filter({ hasText: 'globex' });
  await row.getByRole('button', { name: 'Rename' }).click();
  await row.getByLabel('Organisation name').fill(`Globex ${run}`);
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(row).toContainText(`Globex ${run}`);
  await row.getByRole('button', { name: 'Rename' }).click();
  await row.getByLabel('Organisation name').fill('Globex Corp.');
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(row).toContainText('Globex Corp.');
});

test('a portal link from the operator API signs a new user in as admin', async ({ browser, request }) => {
  const email = uniqueEmail('portal');
  const res = await request.post('/v1/orgs/acme/portal-sessions', {
    headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
    data: { email, role: 'admin', return_url: 'https://platform.example/settings' },
  });
  expect(res.status()).toBe(201);
  const { url } = await res.json();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:3200\/portal\/[A-Za-z0-9_-]{43}$/);

  const fresh = await browser.newContext();
  const page = await fresh.newPage();
  await page.goto(url);
  await expect(page).toHaveURL(/\/orgs\/acme\/settings\/api-keys$/);
  await expect(page.locator('.org-card')).toContainText('Admin');
  await expect(page.getByRole('button', { name: 'Create API key' }).first()).toBeVisible();
  await expect(page.getByRole('link', { name: 'Back to platform.example' })).toHaveAttribute(
    'href',
    'https://platform.example/settings',
  );
  await expect(page.getByRole('link', { name: 'Admin console' })).toHaveCount(0);

  // The link worked once.
  await expectSpent(browser, url, 'This sign-in link cannot be used');
  await fresh.close();
});

test('a member sees no console link and is refused the console', async ({ page }) => {
  await signIn(page, 'member@acme.test');
  await expect(page.getByRole('link', { name: 'Admin console' })).toHaveCount(0);
  const res = await page.goto('/admin');
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Organisations' })).toHaveCount(0);
});

test('open sign-up creates an account and its own organisation; by invitation there is no sign-up page', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: 'http://127.0.0.1:3200' });
  const page = await context.newPage();
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Organisation name').fill('Hooli');
  await page.getByLabel('URL name').fill('acme');
  await page.getByLabel('Email').fill(`gavin-${run}@hooli.test`);
  await page.getByLabel('Password', { exact: true }).fill('a-long-enough-password');
  await page.getByRole('button', { name: 'Create organisation' }).click();
  // A taken URL name is refused where it was typed, and nothing typed is lost.
  await expect(page.getByRole('alert')).toContainText('is taken');
  await expect(page.getByLabel('Organisation name')).toHaveValue('Hooli');

  await page.getByLabel('URL name').fill(`hooli-${run}`);
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await expect(page).toHaveURL(new RegExp(`/orgs/hooli-${run}/settings/api-keys$`));
  await expect(page.getByRole('heading', { name: 'API Keys', exact: true })).toBeVisible();
  await expect(page.locator('.org-card')).toContainText('Owner');
  // Signed up through the page, not an instance admin: no console link.
  await expect(page.getByRole('link', { name: 'Admin console' })).toHaveCount(0);
  await context.close();

  // The PostgreSQL demo instance keeps the default: sign-up by invitation.
  test.skip(!process.env.KEYWARDEN_TEST_POSTGRES_URL, 'no PostgreSQL instance in this run');
  const invited = await browser.newContext({ baseURL: 'http://127.0.0.1:3202' });
  const other = await invited.newPage();
  await other.goto('/signup');
  await expect(other.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expect(other.getByRole('button', { name: 'Create organisation' })).toHaveCount(0);
  await invited.close();
});

test('a member of two organisations switches between them', async ({ page }) => {
  // The demo makes owner@acme.test an admin of Globex too.
  await signIn(page, 'owner@acme.test');
  await page.goto('/orgs/acme/settings/api-keys');
  await hydrated(page);
  await expect(page.locator('.org-card')).toContainText('Owner');
  const switcher = page.getByRole('navigation', { name: 'Switch organisation' });
  await switcher.getByRole('link', { name: /Globex/ }).click();
  await expect(page).toHaveURL(/\/orgs\/globex\/settings\/api-keys$/);
  await expect(page.locator('.org-card')).toContainText('Admin');
  await expect(page.getByRole('navigation', { name: 'Switch organisation' }).getByRole('link', { name: /Acme/ })).toBeVisible();
});
