import { expect, test } from '@playwright/test';

test('the binary serves its own site from an empty directory, and the page hydrates', async ({ browser, request }) => {
  const wasm = await request.get('http://127.0.0.1:3203/pkg/keywarden.wasm');
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()['content-type']).toBe('application/wasm');
  const css = await request.get('http://127.0.0.1:3203/pkg/keywarden.css');
  expect(css.headers()['content-type']).toContain('text/css');
  expect((await request.get('http://127.0.0.1:3203/pkg/nothing-here.js')).status()).toBe(404);

  const context = await browser.newContext({ baseURL: 'http://127.0.0.1:3203' });
  const page = await context.newPage();
  await page.goto('/login');
  await page.locator('body[data-hydrated]').waitFor();
  // Only the hydrated page can reveal the password.
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('keywarden-demo');
  await page.getByRole('button', { name: 'Show password' }).click();
  await expect(password).toHaveAttribute('type', 'text');
  await context.close();
});
