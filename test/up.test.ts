import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointsFile } from '../system/protocol/endpoints.js';
import { alivePids, descendantPids, runAuthlab, startUp } from './support/cli.js';

// End to end as a user sees it: `authlab up`, use the endpoints, `authlab down`, nothing left.
let runs: string;
let up: ChildProcess;
let upExit: Promise<number | null>;
let endpoints: EndpointsFile;
let p1aAccessToken = '';

beforeAll(async () => {
  runs = await mkdtemp(join(tmpdir(), 'authlab-up-test-'));
  const started = startUp(['up', '--pairs', '2'], { AUTHLAB_RUNS_DIR: runs });
  ({ up, exit: upExit } = started);
  await started.ready;
  endpoints = JSON.parse(await readFile(join(runs, 'up', 'endpoints.json'), 'utf8')) as EndpointsFile;
}, 90_000);

afterAll(async () => {
  // Only if a test failed before `down`: never leave the platform running.
  if (up && up.exitCode === null) {
    up.kill('SIGTERM');
    await upExit;
  }
  await rm(runs, { recursive: true, force: true });
});

const service = (name: string) => {
  const s = endpoints.services.find((x) => x.name === name);
  if (!s) throw new Error(`no ${name} in endpoints.json`);
  return s;
};
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('authlab up → use → authlab down', () => {
  it('writes endpoints.json in the documented shape', () => {
    expect(endpoints.idp.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoints.admin.token.length).toBeGreaterThanOrEqual(20);
    expect(endpoints.postgres.url).toMatch(/^postgres:\/\/postgres:.+@127\.0\.0\.1:\d+\/postgres$/);
    expect(endpoints.services.map((s) => [s.name, s.pair, s.database])).toEqual([
      ['p1-a', 1, 'svc_p1_a'],
      ['p1-b', 1, 'svc_p1_b'],
      ['p2-a', 2, 'svc_p2_a'],
      ['p2-b', 2, 'svc_p2_b'],
    ]);
  });

  it('exchanges p1-a’s SA token at the IdP found through discovery', async () => {
    const saToken = (await readFile(service('p1-a').saTokenPath, 'utf8')).trim();
    expect(saToken.split('.')).toHaveLength(3);
    const discovery = (await (await fetch(`${endpoints.idp.url}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    const res = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: saToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe('Bearer');
    p1aAccessToken = body.access_token;
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString()) as {
      sub: string;
      roles: Record<string, string[]>;
    };
    expect(claims.sub).toBe('p1-a');
    // Default grants: p1-a → p1-b read+write, nothing across pairs.
    expect(claims.roles['p1-b']?.sort()).toEqual(['read', 'write']);
    expect(claims.roles['p2-b']).toBeUndefined();

    // The token works on p1-b directly; no token is refused (default mode: verify enforce).
    const direct = await post(
      `${service('p1-b').url}/query`,
      { query: 'light', params: { id: 7 } },
      { authorization: `Bearer ${body.access_token}` },
    );
    expect(direct.status).toBe(200);
    const anonymous = await post(`${service('p1-b').url}/query`, { query: 'light', params: { id: 7 } });
    expect(anonymous.status).toBe(401);
  });

  it('serves rows on p1-a → p1-b and refuses p1-a → p2-b with 403 in enforce mode', async () => {
    const ok = await post(`${service('p1-a').url}/call/p1-b/query`, { query: 'light', params: { id: 42 } });
    expect(ok.status).toBe(200);
    const okBody = (await ok.json()) as { rows: unknown[] };
    expect(okBody.rows.length).toBeGreaterThan(0);

    // docs/DESIGN.md §3 "Topology": a cross-pair call in enforce mode is a 403 (isolation is tested).
    const cross = await post(`${service('p1-a').url}/call/p2-b/query`, { query: 'light', params: { id: 42 } });
    const crossBody = (await cross.json()) as { error: { code: string; message: string } };
    expect(cross.status, JSON.stringify(crossBody)).toBe(403);
    expect(crossBody.error.code).toBe('ERR_FORBIDDEN');

    // The refusal does not rest on the caller's sidecar alone: p2-b itself rejects p1-a's token,
    // which does not name it (401, wrong audience), and serves nothing.
    const atTarget = await post(
      `${service('p2-b').url}/query`,
      { query: 'light', params: { id: 42 } },
      { authorization: `Bearer ${p1aAccessToken}` },
    );
    const atTargetBody = (await atTarget.json()) as { error: { code: string } };
    expect(atTarget.status).toBe(401);
    expect(atTargetBody.error.code).toBe('ERR_TOKEN_AUDIENCE');
  });

  it('a second `authlab up` while this one runs exits 2 with one sentence, and leaves it running', async () => {
    const second = await runAuthlab(['up', '--pairs', '1'], { AUTHLAB_RUNS_DIR: runs });
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toMatch(new RegExp(`^authlab: authlab up is already running \\(pid ${up.pid}, .*\`authlab down\``));
    expect((await fetch(`${service('p1-a').url}/readyz`)).status).toBe(200);
  });

  it('`authlab down` stops it and leaves no process, port or temporary directory', async () => {
    const children = await descendantPids(up.pid!);
    // PostgreSQL (postmaster), identity, idp and 4 sidecars at least.
    expect(children.length).toBeGreaterThanOrEqual(7);
    const workDir = dirname(dirname(dirname(service('p1-a').saTokenPath)));
    expect((await stat(workDir)).isDirectory()).toBe(true);

    const down = await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: runs });
    expect(down.stdout).toMatch(/^stopped authlab up \(pid \d+\)/);
    expect(down.code).toBe(0);
    expect(await upExit).toBe(0);

    expect(await alivePids([up.pid!, ...children])).toEqual([]);
    await expect(stat(workDir)).rejects.toThrow(/ENOENT/);
    await expect(stat(join(runs, 'up', 'endpoints.json'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(runs, 'up', 'state.json'))).rejects.toThrow(/ENOENT/);
    for (const url of [endpoints.idp.url, ...endpoints.services.map((s) => s.url)]) {
      await expect(fetch(`${url}/readyz`)).rejects.toThrow();
    }
  });
});
