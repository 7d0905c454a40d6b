import { expect, test } from '@playwright/test';
import { hydrated, signIn } from './helpers';

const VERIFIER = 'e2e-production-service-token-01';

test('a key for a customer: allowed IPs, customer id, metadata and a usage limit of 3', async ({ page, request }) => {
  await signIn(page, 'admin@acme.test');
  await hydrated(page);
  const suffix = Date.now() % 100000;
  const name = `Customer SDK ${suffix}`;
  const customer = `cus_${suffix}`;
  await page.getByRole('button', { name: 'Create API key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  await dialog.getByText('More options').click();
  await dialog.getByLabel('Customer ID').fill(customer);
  await dialog.getByLabel('Usage limit').fill('3');

  // A bad range and bad JSON are refused in the dialog; nothing typed is lost.
  await dialog.getByLabel('Allowed IPs').fill('203.0.113.0/24\n10.0.0.0/33');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(dialog.getByRole('alert')).toContainText('10.0.0.0/33');
  await dialog.getByLabel('Allowed IPs').fill('203.0.113.0/24\n2001:db8::/32');
  await dialog.getByLabel('Metadata').fill('{"plan": ');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(dialog.getByRole('alert')).toContainText('valid JSON');
  await expect(dialog.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(dialog.getByLabel('Customer ID')).toHaveValue(customer);
  await expect(dialog.getByLabel('Usage limit')).toHaveValue('3');
  await expect(dialog.getByLabel('Allowed IPs')).toHaveValue('203.0.113.0/24\n2001:db8::/32');

  await dialog.getByLabel('Metadata').fill('{"plan": "pro"}');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const token = await dialog.getByRole('textbox', { name: 'API key' }).inputValue();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: 'Close', exact: true }).click();

  const verify = async (ip: string) => {
    const res = await request.post('/v1/keys/verify', {
      headers: { Authorization: `Bearer ${VERIFIER}` },
      data: { key: token, permissions: ['events:write'], ip },
    });
    expect(res.status()).toBe(200);
    return res.json();
  };
  const refused = await verify('198.51.100.7');
  expect(refused.code).toBe('IP_NOT_ALLOWED');
  for (const ip of ['203.0.113.7', '2001:db8::1', '203.0.113.200']) {
    const answer = await verify(ip);
    expect(answer.code).toBe('VALID');
    expect(answer.customer).toBe(customer);
    expect(answer.meta).toEqual({ plan: 'pro' });
  }
  const fourth = await verify('203.0.113.7');
  expect(fourth.code).toBe('USAGE_EXCEEDED');
  expect(fourth.usage.remaining).toBe(0);

  // The list: the customer under the name, "0 left", the Rate limit column;
  // Filter by customer finds the key.
  await page.getByLabel('Filter by customer').fill(customer);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(new RegExp(`customer=${customer}`));
  const table = page.getByRole('table', { name: 'API keys' });
  await expect(table.getByRole('columnheader', { name: 'Rate limit' })).toBeVisible();
  await expect(table.getByRole('row')).toHaveCount(2);
  const row = table.getByRole('row').filter({ hasText: name });
  await expect(row).toContainText(customer);
  await expect(row).toContainText('6000 / min');
  await expect(async () => {
    await page.reload();
    await expect(row).toContainText('0 left', { timeout: 1000 });
  }).toPass({ timeout: 10_000 });

  // The detail page shows every option.
  await row.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  await expect(page.getByText('0 of 3 left; never refills')).toBeVisible();
  await expect(page.getByText('203.0.113.0/24, 2001:db8::/32', { exact: true })).toBeVisible();
  await expect(page.getByText('Allowed IPs: 203.0.113.0/24, 2001:db8::/32')).toBeVisible();
  await expect(page.getByText('"plan": "pro"')).toBeVisible();
});
