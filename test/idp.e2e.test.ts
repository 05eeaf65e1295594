import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../system/protocol/claims.js';
import type { SettingsSnapshot } from '../system/protocol/settings.js';
import type { Component } from '../runner/platforms/local/child.js';
import { startComponent } from './support/components.js';
import { startTestPostgres, type TestPostgres } from './support/pg.js';

const ADMIN = 'e2e-admin-token-0123456789';

describe('identity issuer + IdP over real HTTP and PostgreSQL', () => {
  let pg: TestPostgres;
  let dir: string;
  let identity: Component;
  let idp: Component;

  beforeAll(async () => {
    pg = await startTestPostgres();
    dir = await mkdtemp(join(tmpdir(), 'authlab-idp-e2e-'));
    identity = await startComponent(
      'identity',
      'identity',
      {
        tokenDir: join(dir, 'tokens'),
        tokenTtlSeconds: 600,
        services: [
          { namespace: 'p1-a', serviceAccount: 'default' },
          { namespace: 'p1-b', serviceAccount: 'default' },
        ],
      },
      dir,
    );
    idp = await startComponent(
      'idp',
      'idp',
      {
        databaseUrl: pg.url,
        adminToken: ADMIN,
        trustedIssuers: [{ issuer: identity.url, jwksUri: `${identity.url}/openid/v1/jwks` }],
        tokenTtlSeconds: 120,
      },
      dir,
    );
  });

  afterAll(async () => {
    await Promise.all([idp?.stop(), identity?.stop()]);
    const codes = [idp?.exitCode ?? null, identity?.exitCode ?? null];
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
    expect(codes).toEqual([0, 0]);
  });

  const admin = (method: string, path: string, body?: unknown, token = ADMIN) =>
    fetch(`${idp.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const exchange = async (saToken: string, audience: string[] = []) => {
    const discovery = (await (await fetch(`${idp.url}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    const form = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: saToken, subject_token_type: JWT_TOKEN_TYPE });
    for (const a of audience) form.append('audience', a);
    return fetch(discovery.token_endpoint, { method: 'POST', body: form });
  };

  it('exchanges a token-file SA token for an ES256 access token that verifies against the published JWKS', async () => {
    const put = await admin('PUT', '/admin/grants', { caller: 'p1-a', target: 'p1-b', roles: ['write', 'read'] });
    expect(put.status).toBe(200);
    const rev1 = ((await put.json()) as { revision: number }).revision;

    const discovery = (await (await fetch(`${idp.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: idp.url,
      token_endpoint: `${idp.url}/oauth2/token`,
      grant_types_supported: [TOKEN_EXCHANGE_GRANT],
      settings_stream_endpoint: `${idp.url}/v1/settings/stream`,
    });

    const saToken = (await readFile(join(dir, 'tokens', 'p1-a', 'token'), 'utf8')).trim();
    const before = Math.floor(Date.now() / 1000);
    const res = await exchange(saToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: 120 });

    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri as string));
    const { payload, protectedHeader } = await jwtVerify(body.access_token as string, jwks, {
      issuer: idp.url,
      audience: 'p1-b',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    const keys = (await (await fetch(discovery.jwks_uri as string)).json()) as { keys: { kid: string }[] };
    expect(keys.keys).toHaveLength(2); // current + next, no previous yet
    expect(keys.keys[0]!.kid).toBe(protectedHeader.kid);
    expect(payload.sub).toBe('p1-a');
    expect(payload.aud).toEqual(['p1-b']);
    expect(payload.roles).toEqual({ 'p1-b': ['read', 'write'] });
    expect(payload.rev).toBe(rev1);
    expect(Number.isInteger(payload.iat)).toBe(true);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.exp).toBe(payload.iat! + 120);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a grant change through the admin API bumps the revision, is audited, and shows in the next token', async () => {
    const saToken = (await readFile(join(dir, 'tokens', 'p1-b', 'token'), 'utf8')).trim();
    const t0 = (await (await exchange(saToken)).json()) as { access_token: string };
    const claims0 = JSON.parse(Buffer.from(t0.access_token.split('.')[1]!, 'base64url').toString());
    expect(claims0.aud).toEqual([]);

    const denied = await exchange(saToken, ['p1-a']);
    expect(denied.status).toBe(400);
    expect(((await denied.json()) as { error: string }).error).toBe('invalid_target');

    const put = await admin('PUT', '/admin/grants', { caller: 'p1-b', target: 'p1-a', roles: ['read'] });
    const { revision } = (await put.json()) as { revision: number };
    expect(revision).toBe(claims0.rev + 1);

    const t1 = (await (await exchange(saToken, ['p1-a'])).json()) as { access_token: string };
    const claims1 = JSON.parse(Buffer.from(t1.access_token.split('.')[1]!, 'base64url').toString());
    expect(claims1).toMatchObject({ sub: 'p1-b', aud: ['p1-a'], roles: { 'p1-a': ['read'] }, rev: revision });

    const audit = (await (await admin('GET', '/admin/audit?limit=1')).json()) as {
      entries: { who: string; what: string; after: unknown; revision: number }[];
    };
    expect(audit.entries[0]).toMatchObject({
      who: 'admin',
      what: 'grant.put',
      revision,
      after: { caller: 'p1-b', target: 'p1-a', roles: ['read'] },
    });
  });

  it('admin calls without the admin token get 401 and change nothing', async () => {
    const status0 = (await (await admin('GET', '/admin/status')).json()) as { revision: number };
    const audit0 = (await (await admin('GET', '/admin/audit?limit=1')).json()) as { entries: { id: number }[] };
    for (const token of ['', 'wrong', `${ADMIN}x`, ADMIN.slice(0, -1)]) {
      const res = await admin('PUT', '/admin/grants', { caller: 'p1-b', target: 'p1-a', roles: ['write'] }, token);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ERR_ADMIN_UNAUTHORIZED');
    }
    const noHeader = await fetch(`${idp.url}/admin/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"global":{"verifyMode":"off"}}',
    });
    expect(noHeader.status).toBe(401);
    const status1 = (await (await admin('GET', '/admin/status')).json()) as { revision: number };
    const audit1 = (await (await admin('GET', '/admin/audit?limit=1')).json()) as { entries: { id: number }[] };
    expect(status1.revision).toBe(status0.revision);
    expect(audit1.entries[0]!.id).toBe(audit0.entries[0]!.id);
  });

  it('streams a settings snapshot on connect and after a change; lists the sidecar as connected', async () => {
    const saToken = (await readFile(join(dir, 'tokens', 'p1-a', 'token'), 'utf8')).trim();
    const bad = await fetch(`${idp.url}/v1/settings/stream`, { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('ERR_TOKEN_MALFORMED');

    const ac = new AbortController();
    const res = await fetch(`${idp.url}/v1/settings/stream`, { headers: { authorization: `Bearer ${saToken}` }, signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let buf = '';
    const nextSnapshot = async (): Promise<SettingsSnapshot> => {
      for (;;) {
        const end = buf.indexOf('\n\n');
        if (end >= 0) {
          const event = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = /^event: snapshot\ndata: (.*)$/s.exec(event);
          if (data) return JSON.parse(data[1]!) as SettingsSnapshot;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += Buffer.from(value).toString();
      }
    };
    const first = await nextSnapshot();
    expect(first.settings.global.tokenTtlSeconds).toBe(120);

    const status = (await (await admin('GET', '/admin/status')).json()) as { connectedSidecars: { service: string }[] };
    expect(status.connectedSidecars.map((s) => s.service)).toContain('p1-a');

    const put = await admin('PUT', '/admin/settings', { services: { 'p1-b': { verifyMode: 'observe' } } });
    const { revision } = (await put.json()) as { revision: number };
    const second = await nextSnapshot();
    expect(second.revision).toBe(revision);
    expect(second.settings.services['p1-b']).toEqual({ verifyMode: 'observe' });

    await admin('POST', '/admin/refresh-tokens', { service: 'p1-a' });
    const third = await nextSnapshot();
    expect(third.refresh.services['p1-a']).toBe(1);
    ac.abort();
  });

  it('rotation publishes previous + current + next and signs with the promoted key', async () => {
    const before = (await (await fetch(`${idp.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    const rotated = await admin('POST', '/admin/keys/rotate');
    expect(rotated.status).toBe(200);
    const after = (await (await fetch(`${idp.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(after.keys.map((k) => k.kid).slice(0, 2)).toEqual(before.keys.map((k) => k.kid));
    expect(after.keys).toHaveLength(3);
    const saToken = (await readFile(join(dir, 'tokens', 'p1-a', 'token'), 'utf8')).trim();
    const t = (await (await exchange(saToken)).json()) as { access_token: string };
    expect(decodeProtectedHeader(t.access_token).kid).toBe(before.keys[1]!.kid);
  });

  it('exposes the token metrics', async () => {
    const text = await (await fetch(`${idp.url}/metrics`)).text();
    expect(text).toMatch(/token_result_total\{result="issued"\} [1-9]/);
    expect(text).toMatch(/token_result_total\{result="invalid_target"\} 1/);
    expect(text).toContain('token_issue_duration_seconds_bucket{le="0.00005",result="issued"}');
    expect(text).toContain('token_exchange_inflight 0');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('answers an oversized token request with 413 and a JSON body, not a reset (issue 15, item 5)', async () => {
    const { hostname, port } = new URL(idp.url);
    const body = `grant_type=${encodeURIComponent(TOKEN_EXCHANGE_GRANT)}&pad=${'x'.repeat(1024 * 1024)}`;
    for (const chunked of [false, true]) {
      const res = await new Promise<{ status: number; json: { error?: string; access_token?: string } }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: hostname,
            port,
            path: '/oauth2/token',
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }),
            },
          },
          (r) => {
            let text = '';
            r.setEncoding('utf8');
            r.on('data', (d) => (text += d));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, json: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        if (chunked) for (let i = 0; i < body.length; i += 16_384) req.write(body.slice(i, i + 16_384));
        else req.write(body);
        req.end();
      });
      expect({ chunked, status: res.status, error: res.json.error }).toEqual({ chunked, status: 413, error: 'invalid_request' });
      expect(res.json.access_token).toBeUndefined();
    }
  });
});
