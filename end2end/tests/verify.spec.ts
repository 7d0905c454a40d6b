import { expect, test } from '@playwright/test';
import { hydrated, signIn } from './helpers';

const VERIFIER = 'e2e-production-service-token-01';

test('a key created on the page verifies, shows its use, and stops the moment it is revoked', async ({ page, request }) => {
  await signIn(page, 'admin@acme.test');
  await hydrated(page);
  const name = `Gateway ${Date.now() % 100000}`;
  await page.getByRole('button', { name: 'Create API key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const token = await dialog.getByRole('textbox', { name: 'API key' }).inputValue();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: 'Close', exact: true }).click();

  const verify = async () => {
    const res = await request.post('/v1/keys/verify', {
      headers: { Authorization: `Bearer ${VERIFIER}` },
      data: { key: token, permissions: ['events:write'], path: '/v1/events' },
    });
    expect(res.status()).toBe(200);
    return res.json();
  };
  for (let i = 0; i < 3; i++) {
    const answer = await verify();
    expect(answer.code).toBe('VALID');
    expect(answer.name).toBe(name);
  }

  // Usage is written about once a second; the page shows it after a reload.
  // Just this key, whatever else the demo org holds by now.
  await page.goto(`/orgs/acme/settings/api-keys?q=${encodeURIComponent(name)}`);
  const row = page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: name });
  await expect(async () => {
    await page.reload();
    await expect(row.getByRole('cell', { name: '3', exact: true })).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  await expect(row).toContainText('just now');

  // The key's page charts the three calls and lists them.
  await row.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  await expect(page.getByText('Last 24 hours: 3 verifications, 3 valid, 0 refused.')).toBeVisible();
  await expect(page.getByRole('img', { name: /3 verifications/ })).toBeVisible();
  const outcomes = page.getByRole('table', { name: 'Verifications by outcome' });
  await expect(outcomes.getByRole('row', { name: 'Valid 3' })).toBeVisible();
  const recent = page.getByRole('table', { name: 'Requests' });
  await expect(recent.getByRole('row').filter({ hasText: '/v1/events' })).toHaveCount(3);
  await page.getByRole('link', { name: 'Last 7 days' }).click();
  await expect(page.getByText('Last 7 days: 3 verifications, 3 valid, 0 refused.')).toBeVisible();
  await page.goto(`/orgs/acme/settings/api-keys?q=${encodeURIComponent(name)}`);

  await hydrated(page);
  await page.getByRole('button', { name: `Actions for ${name}` }).click();
  await page.getByRole('button', { name: 'Revoke', exact: true }).click();
  const dialog2 = page.getByRole('dialog', { name: `Revoke ${name}` });
  await dialog2.getByRole('button', { name: 'Revoke' }).click();
  await expect(dialog2).toHaveCount(0);
  // The very next verification is refused.
  const after = await verify();
  expect(after.code).toBe('REVOKED');
  expect(after.valid).toBe(false);
  await page.reload();
  await expect(row).toContainText('Revoked');

  // The request log lists the calls, the refusal first; filters narrow it.
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Request log' }).click();
  await expect(page.getByRole('heading', { name: 'Request log' })).toBeVisible();
  await page.getByLabel('Key').selectOption({ label: name });
  await page.getByRole('button', { name: 'Apply' }).click();
  const log = page.getByRole('table', { name: 'Requests' });
  await expect(async () => {
    await page.reload();
    await expect(log.getByRole('row')).toHaveCount(5, { timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  await expect(log.getByRole('row').nth(1)).toContainText('Revoked');
  await expect(log.getByRole('row').filter({ hasText: 'Valid' })).toHaveCount(3);
  await page.getByLabel('Outcome').selectOption({ label: 'Revoked' });
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(log.getByRole('row')).toHaveCount(2);
  await expect(page.getByText('1 request', { exact: true })).toBeVisible();
});

test('a verifier without a valid service token is refused', async ({ request }) => {
  const res = await request.post('/v1/keys/verify', { headers: { Authorization: 'Bearer nope' }, data: { key: 'kw_live_x' } });
  expect(res.status()).toBe(401);
  expect((await res.json()).error.code).toBe('UNAUTHORIZED');
});

test('a busy key\'s request log says "more than 10,000" and still pages back to its first call', async ({ page, request }) => {
  test.setTimeout(180_000);
  await signIn(page, 'admin@acme.test');
  await hydrated(page);
  const name = `Busy ${Date.now() % 100000}`;
  await page.getByRole('button', { name: 'Create API key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  await dialog.getByLabel('Rate limit', { exact: true }).fill('100000');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const token = await dialog.getByRole('textbox', { name: 'API key' }).inputValue();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: 'Close', exact: true }).click();

  // 10,060 calls: the first alone, the rest 50 at a time.
  const call = async (path: string) => {
    const res = await request.post('/v1/keys/verify', {
      headers: { Authorization: `Bearer ${VERIFIER}` },
      data: { key: token, path },
    });
    expect((await res.json()).code).toBe('VALID');
  };
  await call('/v1/first');
  for (let i = 1; i < 10_060; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, 10_060 - i) }, (_, j) => call(`/v1/bulk/${i + j}`)));
  }

  // The log counts up to 10,000 and says there are more.
  await page.goto('/orgs/acme/settings/logs');
  await page.getByLabel('Key').selectOption({ label: name });
  await page.getByRole('button', { name: 'Apply' }).click();
  const pages = page.getByRole('navigation', { name: 'Pages' });
  await expect(async () => {
    await page.reload();
    await expect(pages).toContainText('More than 10,000 requests', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(pages).toContainText('Page 1 of 200+');
  await pages.getByRole('link', { name: 'Next page' }).click();
  await expect(pages).toContainText('Page 2 of 200+');
  await expect(page.getByRole('table', { name: 'Requests' }).getByRole('row')).toHaveCount(51);

  // Past the count, pages are still served; the last holds the first call
  // and links to no next page.
  await page.goto(`${page.url().replace(/page=\d+/, 'page=202')}`);
  await expect(pages).toContainText('Page 202');
  await expect(pages.getByRole('link', { name: 'Next page' })).toHaveCount(0);
  const rows = page.getByRole('table', { name: 'Requests' }).getByRole('row');
  await expect(rows).toHaveCount(11);
  await expect(rows.last()).toContainText('/v1/first');
  await pages.getByRole('link', { name: 'Previous page' }).click();
  await expect(pages).toContainText('Page 201');
});
