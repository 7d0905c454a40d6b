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
