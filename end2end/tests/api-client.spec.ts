// A TypeScript client generated from the OpenAPI document a real instance
// serves (openapi-typescript + openapi-fetch; scripts/test generates
// .generated/api.d.ts and type-checks this file with tsc before the run),
// driving the REST and verification APIs end to end. A parameter in the
// wrong place or a missing field fails the type-check or the run.
import { APIRequestContext, expect, test } from '@playwright/test';
import createClient from 'openapi-fetch';
import type { paths } from '../.generated/api';

const VERIFIER = 'e2e-production-service-token-01';

/** The demo instance on SQLite, and on PostgreSQL when the suite has one. */
const instances = [{ engine: 'SQLite', base: 'http://127.0.0.1:3200' }];
if (process.env.KEYWARDEN_TEST_POSTGRES_URL) instances.push({ engine: 'PostgreSQL', base: 'http://127.0.0.1:3202' });

/** An Admin key of `acme` to start from, made through the page's server functions. */
async function adminKey(request: APIRequestContext, base: string, name: string): Promise<string> {
  const login = await request.post(`${base}/api/login`, {
    form: { email: 'admin@acme.test', password: 'keywarden-demo', next: '' },
    headers: { Accept: 'application/json' },
  });
  expect(login.status()).toBe(200);
  const input = {
    name, environment: 'production', key_type: 'Admin', permissions: [], expiry: 'never',
    expiry_date: '', rate_limit: '', rate_window_secs: '',
  };
  const created = await request.post(`${base}/api/keys/create`, { data: { slug: 'acme', input } });
  expect(created.status()).toBe(200);
  return (await created.json()).token;
}

for (const { engine, base } of instances) {
  test(`the generated client drives a live server (${engine})`, async ({ playwright }) => {
    const request = await playwright.request.newContext();
    const run = `${Date.now() % 1_000_000}`;
    const admin = await adminKey(request, base, `Client ${run}`);
    const api = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${admin}` } });
    const verifier = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${VERIFIER}` } });

    const created = await api.POST('/v1/keys', {
      body: { name: `Nightly ${run}`, type: 'Read', rate_limit: { limit: 60, window_secs: 60 } },
    });
    expect(created.response.status).toBe(201);
    const { key, token } = created.data!;
    expect(key.environment).toBe('production');
    expect(key.rate_limit).toEqual({ limit: 60, window_secs: 60 });

    const first = await verifier.POST('/v1/keys/verify', {
      body: { key: token, permissions: ['data:read'], path: '/v1/data', ip: '203.0.113.7' },
    });
    expect(first.data?.code).toBe('VALID');
    expect(first.data?.valid).toBe(true);
    expect(first.data?.key_id).toBe(key.id);

    const listed = await api.GET('/v1/keys', { params: { query: { status: 'active', search: `Nightly ${run}`, page: 1 } } });
    expect(listed.response.status).toBe(200);
    expect(listed.data!.keys.map((k) => k.id)).toEqual([key.id]);

    const one = await api.GET('/v1/keys/{id}', { params: { path: { id: key.id } } });
    expect(one.data?.name).toBe(`Nightly ${run}`);

    const renamed = await api.PATCH('/v1/keys/{id}', { params: { path: { id: key.id } }, body: { name: `Nightly ${run} EU` } });
    expect(renamed.data?.name).toBe(`Nightly ${run} EU`);

    const regenerated = await api.POST('/v1/keys/{id}/regenerate', { params: { path: { id: key.id } }, body: { grace: 'none' } });
    expect(regenerated.response.status).toBe(200);
    const fresh = regenerated.data!.token;
    expect(fresh).not.toBe(token);
    const old = await verifier.POST('/v1/keys/verify', { body: { key: token } });
    expect(old.data?.code).toBe('NOT_FOUND');

    const revoked = await api.POST('/v1/keys/{id}/revoke', { params: { path: { id: key.id } } });
    expect(revoked.data?.status).toBe('revoked');
    const after = await verifier.POST('/v1/keys/verify', { body: { key: fresh } });
    expect(after.data?.code).toBe('REVOKED');
    expect(after.data?.valid).toBe(false);

    const missing = await api.GET('/v1/keys/{id}', { params: { path: { id: 'no-such-key' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error.code).toBe('NOT_FOUND');
    await request.dispose();
  });
}

test('the document renders as browsable docs from the binary itself', async ({ page }) => {
  // Everything loaded comes from this instance. (Redoc's footer asks a CDN
  // for its logo; the page's CSP refuses it, and nothing else is missed.)
  const external: string[] = [];
  page.on('requestfinished', (r) => {
    if (!/^(http:\/\/127\.0\.0\.1:3200\/|blob:|data:)/.test(r.url())) external.push(r.url());
  });
  const refused: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().includes('Content Security Policy') && !m.text().includes('cdn.redoc.ly/redoc/logo-mini.svg')) refused.push(m.text());
  });
  await page.goto('/docs');
  await expect(page.getByRole('heading', { name: /Keywarden/ }).first()).toBeVisible();
  await expect(page.getByRole('heading', { name: /Verifies a key/ })).toBeVisible();
  await expect(page.getByText('/v1/orgs/{slug}/portal-sessions').first()).toBeAttached();
  expect(external).toEqual([]);
  expect(refused).toEqual([]);
});
