import { expect, test } from '@playwright/test';

// `scripts/test` runs this instance on the release binary.
const RELEASE = process.env.KEYWARDEN_RELEASE_BIN !== undefined;

test('the binary serves its own site from an empty directory, and the page hydrates', async ({ browser, request }) => {
  const wasm = await request.get('http://127.0.0.1:3203/pkg/keywarden.wasm', { headers: { 'Accept-Encoding': 'br' } });
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()['content-type']).toBe('application/wasm');
  expect(wasm.headers()['content-encoding']).toBe('br');
  if (RELEASE) {
    // The release build's stored brotli, sent whole (a length, where a
    // response compressed on the fly streams without one).
    const sent = Number(wasm.headers()['content-length']);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(600_000);
    const body = await wasm.body();
    expect(body.subarray(0, 4).toString('latin1')).toBe('\0asm');
    expect(body.length).toBeGreaterThan(2 * sent);
  }
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
