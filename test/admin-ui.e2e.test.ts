import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointsFile } from '../system/protocol/endpoints.js';
import { startAuthlab } from './support/cli.js';

// Issue 16 end to end: `authlab up`, the admin page in headless Chromium, and the sidecars' answers
// proving each change took effect. Screenshots of every screen go to runs/ci-artifacts/admin-ui/.
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('runs/ci-artifacts/admin-ui');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`admin UI browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

let runs: string;
let up: ChildProcess;
let upExit: Promise<number | null>;
let endpoints: EndpointsFile;
/** The page as `authlab up` serves it (with the platform section). */
let consoleUrl = '';
/** `authlab up`'s live page and runner series (`/metrics`). */
let liveUrl = '';
let browser: Browser;
let page: Page;
/** Console errors, CSP violations and uncaught exceptions on the admin page. */
const problems: string[] = [];

const svc = (name: string) => endpoints.services.find((s) => s.name === name)!.url;
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const adminApi = async <T>(path: string): Promise<T> =>
  (await (
    await fetch(`${endpoints.idp.url}/admin/${path}`, { headers: { authorization: `Bearer ${endpoints.admin.token}` } })
  ).json()) as T;
const crossPairStatus = async () => (await post(`${svc('p1-a')}/call/p2-b/query`, { query: 'light', params: { id: 42 } })).status;

/** Sum of a counter over the series whose labels include `label`, from a sidecar's /metrics. */
async function counter(url: string, name: string, label: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) && line.includes(label)) sum += Number(line.split(' ').at(-1));
  return sum;
}

/** Polls `f` until it returns true; resolves to the ms it took, or throws after `withinMs`. */
async function within(withinMs: number, f: () => Promise<boolean>, what: string, since = Date.now()): Promise<number> {
  for (;;) {
    if (await f()) return Date.now() - since;
    if (Date.now() - since > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** axe-core on the current screen: no serious or critical violation. */
async function axe(screen: string): Promise<void> {
  const source = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated over the DevTools protocol: the page's CSP (script-src 'self') does not apply to it.
  const violations = (await page.evaluate(
    `${source}; axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')) })))`,
  )) as { id: string; impact: string; nodes: string[] }[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad, `${screen}: ${JSON.stringify(bad)}`).toEqual([]);
}

async function goTo(section: string): Promise<void> {
  await page.getByRole('link', { name: section, exact: true }).click();
  await page.getByRole('heading', { level: 2, name: section === 'Status' ? 'Live status' : section }).waitFor();
}

beforeAll(async () => {
  if (!haveChromium) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  runs = await mkdtemp(join(tmpdir(), 'authlab-admin-ui-'));
  up = startAuthlab(['up', '--pairs', '2'], { AUTHLAB_RUNS_DIR: runs });
  let stderr = '';
  up.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  upExit = new Promise((res) => up.on('exit', (code) => res(code)));
  await new Promise<void>((res, rej) => {
    createInterface({ input: up.stdout! }).on('line', (line) => {
      const ui = /^\s+admin ui\s+(\S+)/.exec(line);
      if (ui) consoleUrl = ui[1]!;
      const live = /^\s+live\s+(\S+?)\/?\s/.exec(line);
      if (live) liveUrl = live[1]!;
      if (line.startsWith('  postgres')) res();
    });
    up.on('exit', (code) => rej(new Error(`authlab up exited with ${code} before ready:\n${stderr}`)));
  });
  endpoints = JSON.parse(await readFile(join(runs, 'up', 'endpoints.json'), 'utf8')) as EndpointsFile;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (up && up.exitCode === null) {
    up.kill('SIGTERM');
    await upExit;
  }
  if (runs) await rm(runs, { recursive: true, force: true });
});

describe.skipIf(!haveChromium)('admin UI in headless Chromium against `authlab up`', () => {
  it('refuses a wrong admin token, then signs in with the keyboard', async () => {
    await page.goto(`${endpoints.idp.url}/admin/ui`);
    const token = page.getByLabel('Admin token');
    await expect.poll(() => page.evaluate("document.activeElement?.getAttribute('name')")).toBe('token');
    await axe('sign-in');
    await shot('01-sign-in');
    await token.fill('not-the-admin-token');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/wrong admin token/);
    await shot('02-wrong-token');
    // The refused sign-in is a 401 the browser logs; that one is expected.
    expect(problems.splice(0)).toEqual([expect.stringMatching(/status of 401/)]);

    await token.fill(endpoints.admin.token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 2, name: 'Grants' }).waitFor();
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: 'authlab_admin_ui', httpOnly: true, sameSite: 'Strict', path: '/admin/ui' })]);
    // Keyboard: the section links are reachable with Tab.
    await page.getByRole('link', { name: 'Grants', exact: true }).focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 2, name: 'Modes' }).waitFor();
    await goTo('Grants');
  });

  it('adds a grant p1-a → p2-b read: the cross-pair call succeeds within 2 s; removing it brings the 403 back', async () => {
    expect(await crossPairStatus()).toBe(403);
    await page.getByLabel('Source (caller, or group:<name>)').fill('p1-a');
    await page.getByLabel('Target service').fill('p2-b');
    await expect.poll(() => page.getByLabel('read').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Save grant' }).click();
    const clicked = Date.now();
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Saved p1-a → p2-b \(read\): revision \d+/);
    const tookMs = await within(2000, async () => (await crossPairStatus()) === 200, 'p1-a → p2-b after the grant', clicked);
    console.log(`admin UI: grant effective after ${tookMs} ms`);
    await page.getByLabel('Filter by source').fill('p1-a');
    await axe('grants');
    await shot('03-grants');

    const audit = await adminApi<{ entries: { who: string; what: string; after: unknown }[] }>('audit?limit=5');
    expect(audit.entries.find((e) => e.what === 'grant.put')).toMatchObject({
      who: 'admin-ui',
      after: { caller: 'p1-a', target: 'p2-b', roles: ['read'] },
    });

    await page.getByRole('button', { name: 'Remove grant p1-a to p2-b' }).click();
    const removed = Date.now();
    await page.getByRole('button', { name: 'Remove grant p1-a to p2-b' }).waitFor({ state: 'detached' });
    await within(2000, async () => (await crossPairStatus()) === 403, 'p1-a → p2-b refused again after removal', removed);
    const grants = await adminApi<{ grants: { caller: string; target: string }[] }>('grants');
    expect(grants.grants.some((g) => g.caller === 'p1-a' && g.target === 'p2-b')).toBe(false);
  });

  it('shows an API error next to the field it concerns, in the API’s own words', async () => {
    await page.getByLabel('Source (caller, or group:<name>)').fill('P1_A');
    await page.getByLabel('Target service').fill('p2-b');
    await page.getByRole('button', { name: 'Save grant' }).click();
    const caller = page.getByLabel('Source (caller, or group:<name>)');
    await expect.poll(() => caller.getAttribute('aria-invalid')).toBe('true');
    const message = await page.locator(`#${await caller.getAttribute('id')}-error`).textContent();
    expect(message).toMatch(/^"caller" must be a service name/);
    await shot('04-grant-error');
    // A 400 from the API is logged by the browser as a failed resource: expected here.
    expect(problems.splice(0)).toEqual([expect.stringMatching(/status of 400/)]);
  });

  it('switches p1-b to observe: a bad token is served and counted; switching to off asks first', async () => {
    await goTo('Modes');
    await page.getByLabel('Service', { exact: true }).fill('p1-b');
    await page.getByRole('combobox', { name: 'Verify mode' }).nth(1).selectOption('observe');
    const counted = await counter(svc('p1-b'), 'auth_verified_total', 'result="observe_denied"');
    await page.getByRole('button', { name: 'Save service override' }).click();
    await expect.poll(() => page.getByRole('status').nth(1).textContent()).toMatch(/Saved override for p1-b: revision \d+/);
    const bad = { authorization: 'Bearer not.a.token' };
    await within(
      2000,
      async () => (await post(`${svc('p1-b')}/query`, { query: 'light', params: { id: 1 } }, bad)).status === 200,
      'bad token served',
    );
    expect(await counter(svc('p1-b'), 'auth_verified_total', 'result="observe_denied"')).toBeGreaterThan(counted);
    // Other services stay in enforce.
    expect((await post(`${svc('p2-b')}/query`, { query: 'light', params: { id: 1 } }, bad)).status).toBe(401);
    await page.getByRole('cell', { name: 'observe' }).waitFor();
    await axe('modes');
    await shot('05-modes');

    await page.getByRole('combobox', { name: 'Verify mode' }).nth(1).selectOption('off');
    await page.getByRole('button', { name: 'Save service override' }).click();
    const dialog = page.getByRole('dialog', { name: 'Turn auth off for p1-b?' });
    await dialog.waitFor();
    await shot('06-confirm-off');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const settings = await adminApi<{ services: Record<string, { verifyMode?: string }> }>('settings');
    expect(settings.services['p1-b']?.verifyMode).toBe('observe');
  });

  it('refreshes all tokens: every sidecar fetches a new one; rotating keys shows its revision', async () => {
    const names = endpoints.services.map((s) => s.name);
    const before = await Promise.all(names.map((n) => counter(svc(n), 'token_issued_total', 'result="ok"')));
    await goTo('Actions');
    await page.getByRole('button', { name: 'Refresh all tokens' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Refresh requested \(all services\): revision \d+/);
    await within(
      5000,
      async () =>
        (await Promise.all(names.map((n, i) => counter(svc(n), 'token_issued_total', 'result="ok"').then((c) => c > before[i]!)))).every(
          Boolean,
        ),
      'every sidecar fetched a new token',
    );
    await page.getByRole('button', { name: 'Rotate keys' }).click();
    await expect.poll(() => page.getByRole('status').nth(3).textContent()).toMatch(/Rotated: revision \d+, current key \S+/);
    await axe('actions');
    await shot('07-actions');
  });

  it('shows every service’s token expiry and last refresh; "Refresh all tokens" moves every last refresh without a reload', async () => {
    await goTo('Status');
    await expect.poll(() => page.locator('#status-body caption').first().textContent()).toBe('4 sidecars connected');
    const names = endpoints.services.map((s) => s.name).sort();
    const rows = page.locator('#status-tokens tbody tr');
    const snapshot = () =>
      rows.evaluateAll((trs) =>
        Object.fromEntries(
          trs.map((tr) => [
            tr.getAttribute('data-service'),
            {
              issuedAt: tr.getAttribute('data-issued-at'),
              jti: tr.getAttribute('data-jti'),
              state: tr.getAttribute('data-state'),
              lastRefresh: tr.querySelector('.last-refresh time')?.getAttribute('datetime'),
              lastRefreshText: tr.querySelector('.last-refresh')?.textContent ?? '',
              expiresText: tr.querySelector('.expires')?.textContent ?? '',
            },
          ]),
        ),
      );
    await expect.poll(async () => Object.keys(await snapshot()).sort(), { timeout: 5000 }).toEqual(names);
    const before = await snapshot();
    for (const n of names) {
      // "in 4 min 58 s" then the absolute time; "12 s ago" then the absolute time.
      expect(before[n]!.expiresText).toMatch(/^in \d+ (s|min)/);
      expect(before[n]!.lastRefreshText).toMatch(/^\d+ (s|min \d+ s) ago/);
      expect(before[n]!.state).toBe('valid');
    }
    // Shown as the IdP knows it: the same jti the status API reports.
    const api = await adminApi<{ tokens: { service: string; jti: string }[] }>('status');
    for (const n of names) expect(api.tokens.find((t) => t.service === n)?.jti).toBe(before[n]!.jti);
    await page.evaluate('window.__authlabSamePage = true');

    await page.getByRole('button', { name: 'Refresh all tokens' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Refresh requested \(all services\): revision \d+/);
    const clicked = Date.now();
    await expect
      .poll(
        async () => {
          const now = await snapshot();
          return names.filter((n) => now[n]!.jti === before[n]!.jti || now[n]!.lastRefresh === before[n]!.lastRefresh);
        },
        { timeout: 10_000, message: 'services whose last refresh did not change' },
      )
      .toEqual([]);
    console.log(`admin UI: every service's last refresh changed ${Date.now() - clicked} ms after "Refresh all tokens"`);
    const after = await snapshot();
    for (const n of names) expect(Date.parse(after[n]!.issuedAt!)).toBeGreaterThan(Date.parse(before[n]!.issuedAt!));
    expect(await page.evaluate('window.__authlabSamePage')).toBe(true);

    const revision = Number(await page.locator('#status-revision').textContent());
    await post(`${endpoints.idp.url}/admin/refresh-tokens`, { service: 'p2-a' }, { authorization: `Bearer ${endpoints.admin.token}` });
    await expect.poll(() => page.locator('#status-revision').textContent(), { timeout: 5000 }).toBe(String(revision + 1));
    await axe('status');
    await shot('08-status');
  });

  it('pages the audit log with the keyboard: Older shows the next older entries, Newer comes back', async () => {
    // More than one page of 20: the changes made so far plus 25 empty groups.
    for (let i = 0; i < 25; i++) {
      const res = await fetch(`${endpoints.idp.url}/admin/groups`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${endpoints.admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ group: `group:e2e-paging-${i}`, members: [] }),
      });
      expect(res.status).toBe(200);
    }
    const log = await adminApi<{ entries: { revision: number }[] }>('audit?limit=40');
    const expected = (from: number) => log.entries.slice(from, from + 20).map((e) => String(e.revision));
    await goTo('Audit log');
    const revisions = () => page.locator('#audit-body tbody tr td:first-child').allTextContents();
    await expect.poll(revisions, { timeout: 5000 }).toEqual(expected(0));
    const newer = page.getByRole('button', { name: 'Newer entries' });
    const older = page.getByRole('button', { name: 'Older entries' });
    expect(await newer.isDisabled()).toBe(true);

    await older.focus();
    await page.keyboard.press('Enter');
    await expect.poll(revisions, { timeout: 5000 }).toEqual(expected(20));
    await expect.poll(() => page.locator('#audit-page').textContent()).toMatch(/^Page 2/);
    // The UI's own changes from the earlier steps are this far back, behind the 25 groups.
    await page.getByRole('cell', { name: 'admin-ui' }).first().waitFor();
    await axe('audit');
    await shot('09-audit-older');

    await newer.focus();
    await page.keyboard.press('Enter');
    await expect.poll(revisions, { timeout: 5000 }).toEqual(expected(0));
    await expect.poll(() => page.locator('#audit-page').textContent()).toBe('Page 1');
    // Newer is disabled on the newest page; focus moved to Older rather than to the top of the page.
    expect(await newer.isDisabled()).toBe(true);
    expect(await page.evaluate('document.activeElement?.textContent')).toMatch(/Older entries/);
    await shot('09-audit');
  });

  it('through authlab up: shows every sidecar’s auth results and runs a study from the form to its report', async () => {
    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin\/ui$/);
    await page.goto(consoleUrl);
    // Same host: the session cookie of the IdP's page is the console's too (cookies ignore ports).
    await page.getByRole('link', { name: 'Platform', exact: true }).click();
    await page.getByRole('heading', { level: 2, name: 'Platform' }).waitFor();
    await expect.poll(() => page.locator('#platform-services tbody tr').count()).toBe(4);
    await expect.poll(() => page.locator('#platform-services').textContent()).toMatch(/observe_denied \d+/);

    await page.getByLabel('Trials').fill('0');
    await page.getByRole('button', { name: 'Start study' }).click();
    const trialsError = page.locator(`#${await page.getByLabel('Trials').getAttribute('id')}-error`);
    await expect.poll(() => trialsError.textContent()).toMatch(/^"trials" must be an integer 1\.\.1000 \(got 0\)/);
    expect(problems.splice(0)).toEqual([expect.stringMatching(/status of 400/)]);
    await page.getByLabel('Trials').fill('1');
    await page.getByRole('button', { name: 'Start study' }).click();
    await expect.poll(() => page.locator('#study-state').textContent()).toBe('running');
    await axe('platform');
    await shot('11-platform-study-running');
    await expect.poll(() => page.locator('#study-state').textContent(), { timeout: 150_000, interval: 1000 }).toMatch(/done|failed/);
    await shot('12-platform-study-done');
    expect(await page.locator('#study-state').textContent(), (await page.locator('#study-progress').textContent()) ?? '').toBe('done');
    const [report] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'Open the report' }).click()]);
    await report.waitForLoadState();
    expect(await report.title()).toMatch(/authlab/i);
    await report.close();
    // The study counted its responses in `up`'s live series, which the live page and Prometheus read.
    // Any mode: one trial on 2 pairs runs 2 of the modes, picked by a random Latin-square row.
    const series = await (await fetch(`${liveUrl}/metrics`)).text();
    expect(series).toMatch(/authlab_load_responses_total\{scenario="light",mode="[a-z-]+",pair="\d+",outcome="ok"\} [1-9]/);
  }, 200_000);

  it('the console starts a study only with the session’s CSRF token from its own origin', async () => {
    const studies = `${new URL(consoleUrl).origin}/admin/ui/platform/studies`;
    const request = page.context().request; // carries the session cookie
    const body = { scenarios: ['light'], quick: true, trials: 1 };
    const noCsrf = await request.post(studies, { data: body });
    const otherOrigin = await request.post(studies, { data: body, headers: { origin: 'http://127.0.0.1:9', 'x-csrf-token': 'x' } });
    const anonymous = await fetch(studies, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect([noCsrf.status(), otherOrigin.status(), anonymous.status]).toEqual([403, 403, 401]);
    // The console serves the page only: the Bearer admin API stays on the IdP's port.
    const api = await fetch(`${new URL(consoleUrl).origin}/admin/grants`, {
      headers: { authorization: `Bearer ${endpoints.admin.token}` },
    });
    expect(api.status).toBe(404);
    const current = await request.get(`${new URL(consoleUrl).origin}/admin/ui/platform/studies/current`);
    expect(((await current.json()) as { study: { state: string } }).study.state).toBe('done');
  });

  it('refuses a forged cross-site POST and leaves everything as it was', async () => {
    const before = await adminApi<{ revision: number }>('status');
    // A page on another origin (same host, another port: the cookie IS sent, so CSRF checks must hold).
    const evil: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form id="f" method="POST" action="${endpoints.idp.url}/admin/ui/api/refresh-tokens" enctype="text/plain">
        <input name='{"service":"p1-a","x":"' value='"}'></form>
        <script>fetch("${endpoints.idp.url}/admin/ui/api/keys/rotate", {method: "POST", mode: "no-cors", credentials: "include", body: "{}"})
        .finally(() => document.getElementById("f").submit())</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    try {
      const attacker = await page.context().newPage();
      const answers: string[] = [];
      attacker.on('response', (r) => {
        if (r.url().includes('/admin/ui/api/')) answers.push(`${new URL(r.url()).pathname} ${r.status()}`);
      });
      const formAnswer = attacker.waitForResponse((r) => r.url().endsWith('/admin/ui/api/refresh-tokens'));
      await attacker.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      await formAnswer;
      // The form post is text/plain (JSON only here); the script's no-cors fetch (opaque to it) changes nothing either:
      // the revision check below covers both.
      expect(answers).toContain('/admin/ui/api/refresh-tokens 415');
      expect(answers.filter((x) => / 2\d\d$/.test(x))).toEqual([]);
      await attacker.close();
    } finally {
      evil.close();
    }
    const after = await adminApi<{ revision: number }>('status');
    expect(after.revision).toBe(before.revision);
  });

  it('signs out; the old cookie no longer works; no console errors were seen', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    const res = await page.context().request.get(`${endpoints.idp.url}/admin/ui/api/status`);
    expect(res.status()).toBe(401);
    await shot('10-signed-out');
    expect(problems).toEqual([]);
  });
});
