import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../runner/platforms/local/index.js';
import { sampleCpu } from '../runner/study/cpu.js';
import { buildGoProgram } from '../system/sidecar/data-plane.js';
import { alivePids, descendantPids } from './support/cli.js';

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const light = { query: 'light', params: { id: 3 } };

describe('local platform, 1 pair', () => {
  let platform: LocalPlatform;
  beforeAll(async () => {
    platform = await startLocalPlatform({ pairs: 1 });
    console.log(`local platform, 1 pair: start-up to ready ${platform.startupMs} ms`);
  }, 60_000);
  afterAll(() => platform?.close());

  it('has every child alive and ready, each service with its own database', async () => {
    expect(await alivePids(platform.pids)).toEqual([...platform.pids]);
    expect(platform.pids.length).toBe(5); // postgres, identity, idp, p1-a, p1-b
    expect(platform.endpoints.services.map((s) => s.database)).toEqual(['svc_p1_a', 'svc_p1_b']);
    expect(platform.startupMs).toBeGreaterThan(0);
  });

  it('setPairMode switches verification: off lets an anonymous call in, enforce refuses it', async () => {
    await platform.setPairMode(1, 'off');
    expect((await post(platform.targetUrl(1, 'direct'), light)).status).toBe(200);
    expect((await post(platform.targetUrl(1, 'off'), light)).status).toBe(200);

    await platform.setPairMode(1, 'enforce');
    const refused = await post(platform.targetUrl(1, 'direct'), light);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
    // Through the caller's sidecar the request is signed, so it passes.
    expect((await post(platform.targetUrl(1, 'enforce'), light)).status).toBe(200);
  });

  it('targetUrl names p1-b directly for `direct` and p1-a’s outbound path otherwise', () => {
    const [a, b] = platform.endpoints.services;
    expect(platform.targetUrl(1, 'direct')).toBe(`${b!.url}/query`);
    expect(platform.targetUrl(1, 'observe')).toBe(`${a!.url}/call/p1-b/query`);
    expect(() => platform.targetUrl(2, 'off')).toThrow(/pair must be 1\.\.1/);
  });

  it('close() stops every process and removes the temporary directory; a second close() is harmless', async () => {
    const pids = [...platform.pids];
    await platform.close();
    await platform.close();
    expect(await alivePids(pids)).toEqual([]);
    await expect(stat(platform.workDir)).rejects.toThrow(/ENOENT/);
    await expect(fetch(platform.endpoints.idp.url)).rejects.toThrow();
  });
});

const dataPlane = await buildGoProgram('dataplane');
const tokenPlane = await buildGoProgram('tokenplane');
if (dataPlane.binary === null) console.warn(`SKIP local platform with the Go data plane: ${dataPlane.reason}`);

describe.skipIf(dataPlane.binary === null || tokenPlane.binary === null)('local platform, 1 pair, --data-plane go', () => {
  let platform: LocalPlatform;
  beforeAll(async () => {
    platform = await startLocalPlatform({ pairs: 1, dataPlane: { binary: dataPlane.binary!, tokenPlane: tokenPlane.binary! } });
  }, 60_000);
  afterAll(() => platform?.close());

  it("names the IdP's Go token plane as its token endpoint, through which the sidecars got their tokens", async () => {
    const idp = platform.endpoints.idp.url;
    const discovery = (await (await fetch(`${idp}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    const health = (await (await fetch(`${idp}/healthz`)).json()) as { ok: boolean; tokenPlane: { url: string; running: boolean } };
    expect(health).toMatchObject({ ok: true, tokenPlane: { running: true } });
    expect(discovery.token_endpoint).toBe(`${health.tokenPlane.url}/oauth2/token`);
    expect(platform.endpoints.idp.tokenEndpoint).toBe(discovery.token_endpoint); // endpoints.json, and the storm's target
    expect(health.tokenPlane.url).not.toBe(idp);
    // Both sidecars are ready, so both hold a token; /metrics reads what the token plane issued.
    const issued = Number(/^token_result_total\{result="issued"\} (\d+)/m.exec(await (await fetch(`${idp}/metrics`)).text())?.[1]);
    expect(issued).toBeGreaterThanOrEqual(2);
  });

  it("sends outbound calls through the caller's data plane, signed, and counts its CPU with the sidecar's", async () => {
    const [a, b] = platform.endpoints.services;
    expect(a!.dataPlaneUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(platform.targetUrl(1, 'enforce')).toBe(`${a!.dataPlaneUrl}/call/p1-b/query`);
    expect(platform.targetUrl(1, 'direct')).toBe(`${b!.url}/query`);
    expect(platform.dataPlane).toBe('go'); // what results.json records as study.dataPlane
    await platform.setPairMode(1, 'enforce');
    expect((await post(platform.targetUrl(1, 'direct'), light)).status).toBe(401);
    const sidecarPid = platform.componentPid!('p1-a')!;
    const before = (await sampleCpu(new Map([['p1-a', sidecarPid]]))).get('p1-a')!;
    const dpPids = await descendantPids(sidecarPid);
    expect(dpPids).toHaveLength(1);
    const dpBefore = (await sampleCpu(new Map([['dp', dpPids[0]!]]))).get('dp')!;
    for (let i = 0; i < 200; i++) expect((await post(platform.targetUrl(1, 'enforce'), light)).status).toBe(200);
    const dpUsed = (await sampleCpu(new Map([['dp', dpPids[0]!]]))).get('dp')! - dpBefore;
    const used = (await sampleCpu(new Map([['p1-a', sidecarPid]]))).get('p1-a')! - before;
    expect(dpUsed).toBeGreaterThan(0);
    expect(used).toBeGreaterThanOrEqual(dpUsed);
  });

  it('close() stops the data planes with their sidecars', async () => {
    const dpPids = (await Promise.all(['p1-a', 'p1-b'].map((n) => descendantPids(platform.componentPid!(n)!)))).flat();
    expect(dpPids).toHaveLength(2);
    await platform.close();
    expect(await alivePids(dpPids)).toEqual([]);
  });
});

describe('local platform, failures during start-up', () => {
  it('an abort (Ctrl-C) mid start-up tears down what was started', async () => {
    const controller = new AbortController();
    let workDir = '';
    const started = startLocalPlatform({
      pairs: 1,
      signal: controller.signal,
      log: (line) => {
        workDir ||= /^work dir (\S+)/.exec(line)?.[1] ?? '';
        // Abort as soon as PostgreSQL is up: the identity issuer and PostgreSQL are running by then.
        if (line.startsWith('postgres ready')) controller.abort();
      },
    });
    await expect(started).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(await descendantPids(process.pid)).toEqual([]);
    expect(workDir).toMatch(/authlab-local-/);
    await expect(stat(workDir)).rejects.toThrow(/ENOENT/);
  });

  it('a component that does not come up in time is named, and everything started is torn down', async () => {
    let workDir = '';
    const started = startLocalPlatform({
      pairs: 1,
      // No process reads its config, listens and writes its token files within 1 ms: identity must time out.
      startTimeoutMs: 1,
      log: (line) => (workDir ||= /^work dir (\S+)/.exec(line)?.[1] ?? ''),
    });
    await expect(started).rejects.toMatchObject({
      code: 'ERR_START_TIMEOUT',
      message: expect.stringMatching(/^identity did not report listening within 1 ms/),
    });
    expect(await descendantPids(process.pid)).toEqual([]);
    await expect(stat(workDir)).rejects.toThrow(/ENOENT/);
  });
});
