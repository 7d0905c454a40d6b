import { expect, Page, Response, test } from '@playwright/test';
import { hydrated, signIn, uniqueEmail } from './helpers';

const OPERATOR_TOKEN = 'e2e-operator-token-0123456789abcdef';

// A person who does not wait: they load a page again the moment it shows,
// reload at once, and click as soon as a button appears. Nothing here waits
// for hydration or a settled network. (A page loaded again right after
// another used to go out with the API's security policy: unstyled, and no
// button did anything. Buttons that need the page's code are disabled and
// busy until it has arrived, never dead while looking ready.)

/** The page's own security policy: with a nonce its scripts carry. */
async function expectPagePolicy(response: Response | null, page: Page) {
  expect(response, 'a document answer').not.toBeNull();
  const csp = response!.headers()['content-security-policy'] ?? '';
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  expect(nonce, `page policy, got: ${csp}`).toBeTruthy();
  // The stylesheet applied (without it the browser's own 8px body margin).
  await expect(page.locator('body')).toHaveCSS('margin-top', '0px');
}

/**
 * Loads `path`, and again the moment its first byte arrives, three times over,
 * then once more to the end: every answer carries the page policy, and the
 * last page works.
 */
async function impatiently(page: Page, path: string, check: () => Promise<void>) {
  let response = await page.goto(path, { waitUntil: 'commit' });
  for (let i = 0; i < 3; i++) {
    expect(response?.headers()['content-security-policy'] ?? '').toContain("'nonce-");
    response = await page.goto(path, { waitUntil: 'commit' });
  }
  await expectPagePolicy(response, page);
  await check();
  await expectPagePolicy(await page.reload(), page);
  await check();
}

test('keys: loaded again at once after sign-in, the page is styled and Create API key opens its dialog', async ({ page }) => {
  await signIn(page, 'admin@acme.test');
  await impatiently(page, '/orgs/acme/settings/api-keys', async () => {
    await page.getByRole('button', { name: 'Create API key' }).first().click();
    await expect(page.getByRole('dialog', { name: 'Create API key' })).toBeVisible();
  });
});

test('members, account and admin work however fast they are loaded again', async ({ page }) => {
  await signIn(page, 'owner@acme.test');
  await impatiently(page, '/orgs/acme/settings/members', async () => {
    await page.getByRole('button', { name: 'Remove viewer@acme.test' }).click();
    await expect(page.getByRole('button', { name: 'Cancel' })).toBeVisible();
  });
  await impatiently(page, '/account', async () => {
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    await expect(page.getByLabel('Secret')).toBeVisible();
  });
  await impatiently(page, '/admin', async () => {
    const row = page.getByRole('table', { name: 'Organisations' }).getByRole('row').filter({ hasText: 'globex' });
    await row.getByRole('button', { name: 'Rename' }).click();
    await expect(row.getByLabel('Organisation name')).toBeVisible();
  });
});

test('before its code arrives, a dialog button is shown busy, never dead', async ({ page }) => {
  await signIn(page, 'admin@acme.test');
  // Hold the page's code back: the server-rendered page shows, its code does not run.
  await page.route('**/*.wasm', () => {});
  await page.goto('/orgs/acme/settings/api-keys');
  const create = page.getByRole('button', { name: 'Create API key' }).first();
  await expect(create).toBeVisible();
  await expect(create).toBeDisabled();
  await expect(create).toHaveAttribute('aria-busy', 'true');
  // Let the code through: the same button works.
  await page.unroute('**/*.wasm');
  await page.reload();
  await page.getByRole('button', { name: 'Create API key' }).first().click();
  await expect(page.getByRole('dialog', { name: 'Create API key' })).toBeVisible();
});

test('a portal link opened while signed in asks before it ends that session', async ({ page, request }) => {
  await signIn(page, 'viewer@acme.test');
  const email = uniqueEmail('portal-ask');
  const res = await request.post('/v1/orgs/acme/portal-sessions', {
    headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
    data: { email, role: 'member' },
  });
  expect(res.status()).toBe(201);
  const { url } = await res.json();
  const entered: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/portal/enter')) entered.push(r.url());
  });
  await page.goto(url);
  await expect(page.getByRole('heading', { name: `Continue as ${email} in Acme Inc.?` })).toBeVisible();
  await expect(page.getByText('You will be signed out of viewer@acme.test.')).toBeVisible();
  // It waits for the person: once its code runs (which is when a link with
  // nobody signed in continues by itself), it is still the question.
  await hydrated(page);
  await expect(page).toHaveURL(url);
  await expect(page.getByRole('button', { name: 'Continue' })).toBeVisible();
  await page.getByRole('link', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(/\/orgs\/acme\/settings\/api-keys$/);
  await expect(page.locator('.org-card')).toContainText('Viewer');
  expect(entered, 'the link was not used by itself').toEqual([]);
  // Continue: now the link's person.
  await page.goto(url);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(/\/orgs\/acme\/settings\/api-keys$/);
  await expect(page.locator('.org-card')).toContainText('Member');
});

test('a viewer sees the key list without rate limits, permissions or customers', async ({ page }) => {
  await signIn(page, 'viewer@acme.test');
  const table = page.getByRole('table', { name: 'API keys' });
  await expect(table.getByRole('row').nth(1)).toBeVisible();
  await expect(table.getByRole('columnheader', { name: 'Rate limit' })).toHaveCount(0);
  await expect(table).not.toContainText('/ min');
  await expect(table).not.toContainText('events:write');
});
