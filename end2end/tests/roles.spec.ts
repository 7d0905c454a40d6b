import { expect, test } from '@playwright/test';
import { memberCell, ROLES, signIn } from './helpers';

const mayInvite = { owner: true, admin: true, member: false, viewer: false };
const seesAudit = mayInvite;
const managesMembers = { owner: true, admin: false, member: false, viewer: false };
const seesRequests = { owner: true, admin: true, member: true, viewer: false };

for (const role of ROLES) {
  test(`${role} sees the navigation and controls of their role`, async ({ page }) => {
    await signIn(page, `${role}@acme.test`);
    const nav = page.getByRole('navigation', { name: 'Settings' });
    await expect(nav.getByRole('link', { name: 'API Keys' })).toBeVisible();
    await expect(nav.getByRole('link', { name: 'Members' })).toBeVisible();
    await expect(nav.getByRole('link', { name: 'Audit log' })).toHaveCount(seesAudit[role] ? 1 : 0);
    await expect(nav.getByRole('link', { name: 'Request log' })).toHaveCount(seesRequests[role] ? 1 : 0);
    await expect(page.locator('.org-card')).toContainText(role[0].toUpperCase() + role.slice(1));

    await nav.getByRole('link', { name: 'Members' }).click();
    await expect(page.getByRole('heading', { name: 'Members', exact: true })).toBeVisible();
    for (const other of ROLES) {
      await expect(memberCell(page, `${other}@acme.test`)).toBeVisible();
    }
    // Controls a role may not use are not rendered at all.
    await expect(page.getByRole('button', { name: 'Invite' })).toHaveCount(mayInvite[role] ? 1 : 0);
    await expect(page.getByRole('heading', { name: 'Invite someone' })).toHaveCount(mayInvite[role] ? 1 : 0);
    for (const other of ROLES) {
      const n = managesMembers[role] ? 1 : 0;
      await expect(page.getByRole('combobox', { name: `Role for ${other}@acme.test` })).toHaveCount(n);
      await expect(page.getByRole('button', { name: `Remove ${other}@acme.test` })).toHaveCount(n);
    }
    if (role === 'admin') {
      // Admins may invite members and viewers, never owners or admins.
      const options = page.getByLabel('Role', { exact: true }).locator('option');
      await expect(options).toHaveText(['Member', 'Viewer']);
    }
  });
}

test('a member who opens the audit log URL directly is refused', async ({ page }) => {
  await signIn(page, 'member@acme.test');
  await page.goto('/orgs/acme/settings/audit-log');
  await expect(page.getByRole('heading', { name: 'No access' })).toBeVisible();
});

test('a viewer who opens the request log URL directly is refused', async ({ page }) => {
  await signIn(page, 'viewer@acme.test');
  await page.goto('/orgs/acme/settings/logs');
  await expect(page.getByRole('heading', { name: 'No access' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Requests' })).toHaveCount(0);
});

test('an org the user does not belong to is not found', async ({ page }) => {
  await signIn(page, 'viewer@acme.test');
  await page.goto('/orgs/globex/settings/members');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});

test('the layout is usable at phone width', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, 'admin@acme.test');
  await page.getByRole('link', { name: 'Members' }).click();
  await expect(page.getByRole('button', { name: 'Invite' })).toBeInViewport();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
