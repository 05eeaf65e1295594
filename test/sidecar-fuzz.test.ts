/**
 * Property tests (fast-check, bounded in time): whatever bytes arrive as a token, a header or a
 * body, the sidecar never answers 500 and never does database work for a request it refuses; the
 * IdP's token endpoint never answers 500 and never issues a token for a form body that is not a
 * valid exchange.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../system/sidecar/app.js';
import { buildIdp, type Idp } from '../system/idp/app.js';
import { createIdentityIssuer, type IdentityIssuer } from '../system/identity/issuer.js';
import { buildIdentityServer } from '../system/identity/server.js';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../system/protocol/claims.js';
import { startFixtureIdp, type FixtureIdp } from './support/fixture-idp.js';
import { startSidecar, waitFor, writeSaToken } from './support/sidecar-harness.js';
import { startTestPostgres, type TestPostgres } from './support/pg.js';
import { tracked } from './support/fc-runs.js';

/** Each property stops after this long, whatever number of runs it reached (the suite has 2 cores). */
const TIME_LIMIT_MS = 8_000;
// fast-check prints the seed and path of a failure; replay with { seed, path } here.
const params = { numRuns: 1000, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false };

let pg: TestPostgres;

describe('sidecar: no 500, no database work for a refused request', () => {
  let idp: FixtureIdp;
  let b: { sidecar: Sidecar; url: string };
  let cleanup: () => Promise<void>;
  let dbRuns = 0;
  let token = '';

  beforeAll(async () => {
    pg = await startTestPostgres();
    idp = await startFixtureIdp();
    idp.register('sa-p1-b', 'p1-b', ['p1-a'], { 'p1-a': ['read'] });
    const sa = await writeSaToken('sa-p1-b');
    cleanup = sa.cleanup;
    b = await startSidecar({
      service: 'p1-b',
      pair: 1,
      databaseUrl: await pg.createDatabase('p1-b'),
      idpUrl: idp.url,
      saTokenPath: sa.path,
      peers: { 'p1-a': 'http://127.0.0.1:9' },
    });
    await waitFor('ready', async () => (await fetch(`${b.url}/readyz`)).status === 200);
    // Count the queries the routes run (the route calls ctx.db.run on this very object).
    const run = b.sidecar.db.run.bind(b.sidecar.db);
    b.sidecar.db.run = (q, caller) => {
      dbRuns++;
      return run(q, caller);
    };
    token = idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read', 'write'] } });
  });
  afterAll(async () => {
    await b?.sidecar.close();
    await idp?.close();
    await cleanup?.();
  });

  const inject = (app: FastifyInstance, url: string, headers: Record<string, string>, payload: string | Buffer) =>
    app.inject({ method: 'POST', url, headers, payload });

  it('any body: a 4xx without database work, or a 200 that ran exactly one query; never a 500', async () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
      fc.string({ maxLength: 512, unit: 'binary' }),
      fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
      fc
        .record(
          { query: fc.oneof(fc.constantFrom('light', 'heavy', 'write'), fc.string()), params: fc.jsonValue({ maxDepth: 4 }) },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );
    const runs = tracked(async (payload: string | Buffer, url: string) => {
      const before = dbRuns;
      const res = await inject(b.sidecar.app, url, { 'content-type': 'application/json', authorization: `Bearer ${token}` }, payload);
      expect(res.statusCode, res.body).toBeLessThan(500 + (url.startsWith('/call') ? 3 : 0)); // /call to a dead peer: 502
      expect(res.json().error?.code ?? 'none').not.toBe('ERR_INTERNAL');
      if (res.statusCode !== 200) expect(dbRuns).toBe(before);
      else expect(dbRuns).toBe(before + 1);
    });
    try {
      await fc.assert(fc.asyncProperty(body, fc.constantFrom('/query', '/call/p1-a/query'), runs.predicate), params);
    } finally {
      // A heavy query the time limit cut off would otherwise run its database work inside the next property.
      await runs.settled();
    }
  });

  it('any Authorization value or token bytes in enforce mode: 400/401, never a 500 or a query', async () => {
    const b64 = fc.base64String({ maxLength: 200 }).map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
    const value = fc.oneof(
      fc.string({ maxLength: 300, unit: 'grapheme-ascii' }),
      fc.tuple(b64, b64, b64).map(([h, p, s]) => `Bearer ${h}.${p}.${s}`),
      fc
        .tuple(fc.jsonValue(), fc.jsonValue(), b64)
        .map(
          ([h, p, s]) =>
            `Bearer ${Buffer.from(JSON.stringify(h)).toString('base64url')}.${Buffer.from(JSON.stringify(p)).toString('base64url')}.${s}`,
        ),
      // A real token with one character changed.
      fc.nat({ max: 2000 }).map((i) => {
        const t = idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read'] }, jti: randomUUID() });
        const at = i % t.length;
        return `Bearer ${t.slice(0, at)}${t[at] === 'A' ? 'B' : 'A'}${t.slice(at + 1)}`;
      }),
    );
    await fc.assert(
      fc.asyncProperty(value, async (authorization) => {
        const before = dbRuns;
        // Header values must be legal on the wire: HTTP itself refuses the rest before any code runs.
        if (!/^[\t\x20-\x7e]*$/.test(authorization)) return;
        const res = await inject(b.sidecar.app, '/query', { 'content-type': 'application/json', authorization }, '{"query":"light"}');
        if (res.statusCode === 200) {
          // Only a real, unmodified token may pass (a changed base64url spare bit is refused as non-canonical).
          throw new Error(`accepted ${authorization}`);
        }
        expect([400, 401], res.body).toContain(res.statusCode);
        expect(dbRuns).toBe(before);
      }),
      params,
    );
  });
});

describe('IdP token endpoint: no 500 and no token for any form body', () => {
  let idServer: FastifyInstance;
  let issuer: IdentityIssuer;
  let idp: Idp;

  beforeAll(async () => {
    idServer = buildIdentityServer({ issuer: () => issuer });
    const url = await idServer.listen({ host: '127.0.0.1', port: 0 });
    issuer = createIdentityIssuer({ issuer: url });
    idp = await buildIdp({
      issuer: 'http://idp.fuzz',
      databaseUrl: pg.url,
      adminToken: 'fuzz-admin-token-0123456789',
      trustedIssuers: [{ issuer: url, jwksUri: `${url}/openid/v1/jwks` }],
    });
  });
  afterAll(async () => {
    await idp?.close();
    await idServer?.close();
    await pg?.stop();
  });

  it('any body (bytes, form-like strings, mutated valid requests): 400/413/415-as-400, never 200 or 500', async () => {
    const valid = () =>
      new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: issuer.mint({ namespace: 'p1-a', serviceAccount: 'default' }),
        subject_token_type: JWT_TOKEN_TYPE,
      }).toString();
    const form = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
      fc.string({ maxLength: 512, unit: 'binary' }),
      fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 50 })).map((d) => new URLSearchParams(d).toString()),
      // A valid request with one character changed.
      fc.nat({ max: 5000 }).map((i) => {
        const v = valid();
        const at = i % v.length;
        return `${v.slice(0, at)}${v[at] === 'x' ? 'y' : 'x'}${v.slice(at + 1)}`;
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        form,
        fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain'),
        async (payload, type) => {
          const res = await idp.app.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': type }, payload });
          expect(res.statusCode, res.body).not.toBe(500);
          const body = res.json() as { access_token?: string; error?: string };
          if (res.statusCode === 200) {
            // The one way to get a token: the untouched fields of a valid request (a flipped character
            // can land in a part that does not change its meaning, e.g. a repeated letter).
            expect(type).toBe('application/x-www-form-urlencoded');
            expect(typeof payload === 'string' && payload.includes('grant_type=')).toBe(true);
            return;
          }
          expect(body.access_token).toBeUndefined();
          expect([400, 413]).toContain(res.statusCode);
          expect(typeof body.error).toBe('string');
        },
      ),
      params,
    );
  });
});
