import { defineConfig } from '@playwright/test';
import { resolve } from 'node:path';

// The server binary and built site come from `scripts/test` (or `scripts/start`).
const bin = process.env.KEYWARDEN_BIN ?? '../target/debug/keywarden';
const site = process.env.KEYWARDEN_SITE_ROOT ?? '../target/site';
// The release binary for the embedded-site instance (`scripts/test` builds
// one); without it, the debug binary, which reads the site from disk.
const releaseBin = process.env.KEYWARDEN_RELEASE_BIN ?? bin;

// Two instances: a demo one (org "acme", one user per role) and an empty one
// for the first-run flow. Each starts on a fresh SQLite file.
// Verifier tokens of the instances under test (see tests/verify.spec.ts).
export const SERVICE_TOKENS = 'production:e2e-production-service-token-01,staging:e2e-staging-service-token-000001';
// The operator API's token on the demo instance (see tests/platform.spec.ts).
export const OPERATOR_TOKEN = 'e2e-operator-token-0123456789abcdef';

const server = (name: string, port: number, extra: string) => ({
  command: `rm -rf .data/${name} && mkdir -p .data/${name} && exec ${bin} ${extra} --addr 127.0.0.1:${port} --database-url sqlite://.data/${name}/keywarden.db --site-root ${site}`,
  url: `http://127.0.0.1:${port}/healthz`,
  reuseExistingServer: false,
  timeout: 60_000,
  env: { KEYWARDEN_SERVICE_TOKENS: SERVICE_TOKENS, KEYWARDEN_OPERATOR_TOKENS: OPERATOR_TOKEN },
  stdout: 'ignore' as const,
  stderr: 'pipe' as const,
});

// With a PostgreSQL for the suite, a third demo instance runs on a fresh
// database there (the generated API client is driven against both engines).
const pgAdmin = process.env.KEYWARDEN_TEST_POSTGRES_URL;
const pgUrl = pgAdmin?.replace(/\/[^/]*$/, '/kw_e2e');
// The demo instance has open sign-up; the PostgreSQL one keeps the default
// (by invitation only), so both settings are seen in a browser.
const servers = [server('demo', 3200, '--demo --signup open'), server('fresh', 3201, '')];
// A demo instance started from an empty directory with no site folder
// named: its pages, WASM and styles come from the binary itself.
servers.push({
  ...server('embedded', 3203, '--demo'),
  command: `rm -rf .data/embedded && mkdir -p .data/embedded && cd .data/embedded && exec env -u KEYWARDEN_SITE_ROOT ${resolve(releaseBin)} --demo --addr 127.0.0.1:3203 --database-url sqlite://keywarden.db`,
});
if (pgAdmin && pgUrl) {
  servers.push({
    ...server('pg', 3202, '--demo'),
    command: `psql "${pgAdmin}" -qc 'DROP DATABASE IF EXISTS kw_e2e' -c 'CREATE DATABASE kw_e2e' && exec ${bin} --demo --addr 127.0.0.1:3202 --database-url ${pgUrl} --site-root ${site}`,
  });
}

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  // One worker: the specs share the demo instance's database, and a test
  // creating 200 keys must not push another test's new key off page one.
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: 'http://127.0.0.1:3200',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: servers,
});
