import AxeBuilder from '@axe-core/playwright';
import { Browser, expect, Page } from '@playwright/test';
import { createHmac } from 'node:crypto';

export const DEMO_PASSWORD = process.env.KEYWARDEN_DEMO_PASSWORD ?? 'keywarden-demo';
export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type DemoRole = (typeof ROLES)[number];

/** Waits until the WASM bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await page.locator('body[data-hydrated]').waitFor();
}

/** Signs in through the login form and waits for the API Keys page. */
export async function signIn(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/orgs\/[a-z0-9-]+\/settings\/api-keys$/);
}

/** A unique address for people invited during a run. */
export function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`;
}

/** The email cell of a member in the Members table (their own row adds "you"). */
export function memberCell(page: Page, email: string) {
  const escaped = email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return page.getByRole('table', { name: 'Members' }).getByRole('cell', { name: new RegExp(`^${escaped}( you)?$`) });
}

/** The RFC 6238 code (SHA-1, six digits, 30 s) of a base32 `secret` at `unixSecs`. */
export function totp(secret: string, unixSecs = Date.now() / 1000): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSecs / 30)));
  const hmac = createHmac('sha1', key).update(counter).digest();
  const offset = hmac[hmac.length - 1] & 0xf;
  const value = (hmac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

/** Signs up a new owner with their own organisation (the demo runs open sign-up). */
export async function signUp(page: Page, slug: string, email: string, password: string) {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Organisation name').fill(`Org ${slug}`);
  await page.getByLabel('URL name').fill(slug);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await expect(page).toHaveURL(new RegExp(`/orgs/${slug}/settings/api-keys$`));
}

/** axe-core finds no serious or critical WCAG 2.1 A/AA violation on the page as it is. */
export async function accessible(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, what).toEqual([]);
}

/** Opens a one-time `link` in a fresh browser and expects the dead-link page `heading`: it was spent. */
export async function expectSpent(browser: Browser, link: string, heading: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByRole('heading', { name: heading })).toBeVisible();
  await context.close();
}
