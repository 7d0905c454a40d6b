import { expect, Page } from '@playwright/test';

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
