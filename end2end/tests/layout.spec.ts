import { expect, test } from '@playwright/test';
import { signIn } from './helpers';

test('at 1280×800 the whole keys table fits: Status and the first Actions button are on screen', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, 'admin@acme.test');
  const table = page.getByRole('table', { name: 'API keys' });
  for (const header of ['Name', 'Rate limit', 'Expires', 'Status']) {
    const box = (await table.getByRole('columnheader', { name: header, exact: true }).boundingBox())!;
    expect(box.x + box.width, header).toBeLessThanOrEqual(1280);
  }
  const actions = (await page.getByRole('button', { name: /^Actions for / }).first().boundingBox())!;
  expect(actions.x + actions.width).toBeLessThanOrEqual(1280);
  // Nothing scrolls sideways: not the page, not the table.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
  expect(await table.evaluate((t) => t.parentElement!.scrollWidth - t.parentElement!.clientWidth)).toBe(0);
  await page.screenshot({ path: 'test-results/keys-1280.png' });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: 'test-results/keys-1280-dark.png' });
  await context.close();
});

test('at 390×844 each key is a card with its name, status and Actions menu', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page, 'admin@acme.test');
  await page.goto('/orgs/acme/settings/api-keys?q=Production+Web+SDK');
  const card = page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: 'Production Web SDK' });
  await expect(card.getByRole('link', { name: 'Production Web SDK' })).toBeInViewport();
  // Each fact sits on its own line, labelled (the label is drawn by CSS).
  const status = card.locator('td[data-label="Status"]');
  await expect(status).toContainText('Active');
  await expect(status).toBeVisible();
  expect(await status.evaluate((td) => getComputedStyle(td, '::before').content)).toBe('"Status"');
  const actions = card.getByRole('button', { name: 'Actions for Production Web SDK' });
  const box = (await actions.boundingBox())!;
  expect(box.x + box.width).toBeLessThanOrEqual(390);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.screenshot({ path: 'test-results/keys-390.png', fullPage: false });
  await page.locator('body[data-hydrated]').waitFor();
  await actions.click();
  await expect(page.getByRole('button', { name: 'Edit', exact: true })).toBeVisible();
  await context.close();
});

test('at 390×844 the members, audit and request-log tables are cards too', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page, 'owner@acme.test');
  await page.locator('body[data-hydrated]').waitFor();
  // A key and one verification of it, so every table has a row.
  await page.getByRole('button', { name: 'Create API key' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Name', { exact: true }).fill(`Cards ${Date.now()}`);
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const token = await dialog.getByRole('textbox', { name: 'API key' }).inputValue();
  const answer = await context.request.post('/v1/keys/verify', {
    headers: { Authorization: 'Bearer e2e-production-service-token-01' },
    data: { key: token },
  });
  expect((await answer.json()).code).toBe('VALID');
  for (const [path, table, label] of [
    ['/orgs/acme/settings/members', 'Members', 'Role'],
    ['/orgs/acme/settings/audit-log', 'Audit entries', 'Action'],
    ['/orgs/acme/settings/logs?since=30d', 'Requests', 'Outcome'],
  ]) {
    const rows = page.getByRole('table', { name: table }).getByRole('row');
    // The first row after the (visually hidden) header; the request log
    // shows a verification within a few seconds.
    const first = rows.nth(1);
    await expect(async () => {
      await page.goto(path);
      await expect(first).toBeInViewport({ timeout: 1000 });
    }).toPass({ timeout: 15_000 });
    const cell = first.locator(`td[data-label="${label}"]`);
    await expect(cell).toBeVisible();
    expect(await cell.evaluate((td) => getComputedStyle(td, '::before').content), path).toBe(`"${label}"`);
    const box = (await first.boundingBox())!;
    expect(box.x + box.width, path).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(390);
  }
  await context.close();
});
