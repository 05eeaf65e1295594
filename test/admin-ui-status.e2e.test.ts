import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentityIssuer, type IdentityIssuer } from '../system/identity/issuer.js';
import { buildIdentityServer } from '../system/identity/server.js';
import { buildIdp, type Idp } from '../system/idp/app.js';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../system/protocol/claims.js';
import { startTestPostgres, type TestPostgres } from './support/pg.js';

// Issue 16 live status in headless Chromium against an IdP on a controlled clock: a token in the last
// 10% of its lifetime is flagged "expires soon", one past exp "expired", and the page notices without a reload.
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const ARTIFACTS = resolve('runs/ci-artifacts/admin-ui');
const ADMIN = 'admin-ui-status-token-0123456789';
const TTL_SECONDS = 60;

let pg: TestPostgres;
let idServer: FastifyInstance;
let issuer: IdentityIssuer;
let idp: Idp;
let url = '';
let browser: Browser;
let page: Page;
// Whole seconds: exp is a NumericDate, so a fractional start would shave up to 1 s off every countdown.
let clock = Math.floor(Date.now() / 1000) * 1000;
const problems: string[] = [];

async function exchange(ns: string): Promise<void> {
  const res = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: issuer.mint({ namespace: ns, serviceAccount: 'default' }),
      subject_token_type: JWT_TOKEN_TYPE,
    }),
  });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  if (!haveChromium) return;
  pg = await startTestPostgres();
  idServer = buildIdentityServer({ issuer: () => issuer });
  const idUrl = await idServer.listen({ host: '127.0.0.1', port: 0 });
  issuer = createIdentityIssuer({ issuer: idUrl });
  idp = await buildIdp({
    databaseUrl: pg.url,
    adminToken: ADMIN,
    trustedIssuers: [{ issuer: idUrl, jwksUri: `${idUrl}/openid/v1/jwks` }],
    tokenTtlSeconds: TTL_SECONDS,
    now: () => clock,
  });
  url = await idp.listen();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await idServer?.close();
  await pg?.stop();
});

describe.skipIf(!haveChromium)('admin UI live status on a controlled clock', () => {
  it('flags a token about to expire, then expired, while a fresh one stays valid, without a reload', async () => {
    const t0 = clock;
    await exchange('p1-a');
    clock = t0 + 50_000;
    await exchange('p1-b');
    await page.goto(`${url}/admin/ui`);
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 2, name: 'Grants' }).waitFor();
    await page.getByRole('link', { name: 'Status', exact: true }).click();
    const row = (service: string) => page.locator(`#status-tokens tr[data-service="${service}"]`);
    const state = (service: string) => row(service).getAttribute('data-state');
    await expect.poll(() => state('p1-a')).toBe('valid');
    expect(await row('p1-a').locator('.expires').textContent()).toMatch(/^in 10 s/);
    expect(await row('p1-a').locator('.last-refresh').textContent()).toMatch(/^50 s ago/);

    // 5 s of 60 left: under 10% of the lifetime.
    clock = t0 + 55_000;
    await expect.poll(() => state('p1-a'), { timeout: 5000 }).toBe('expiring');
    expect(await row('p1-a').getByRole('cell', { name: 'expires soon' }).count()).toBe(1);
    expect(await state('p1-b')).toBe('valid');
    const source = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    const violations = (await page.evaluate(
      `${source}; axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }).then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id))`,
    )) as string[];
    expect(violations).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, '13-status-expiring.png'), fullPage: true });

    clock = t0 + 61_000;
    await expect.poll(() => state('p1-a'), { timeout: 5000 }).toBe('expired');
    expect(await row('p1-a').locator('.expires').textContent()).toMatch(/^1 s ago/);
    expect(await row('p1-a').getByRole('cell', { name: 'expired' }).count()).toBe(1);
    expect(await state('p1-b')).toBe('valid');
    expect(problems).toEqual([]);
  });
});
