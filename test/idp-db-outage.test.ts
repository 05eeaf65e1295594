import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { createIdentityIssuer, type IdentityIssuer } from '../system/identity/issuer.js';
import { buildIdentityServer } from '../system/identity/server.js';
import { buildIdp, type Idp } from '../system/idp/app.js';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../system/protocol/claims.js';
import { startTestPostgres, type TestPostgres } from './support/pg.js';

const ADMIN = 'outage-admin-token-0123456789';

describe('IdP while PostgreSQL is down', () => {
  let pg: TestPostgres | undefined;
  let idServer: FastifyInstance | undefined;
  let idp: Idp | undefined;
  afterAll(async () => {
    await idp?.close();
    await idServer?.close();
    await pg?.stop().catch(() => {});
  });

  it('keeps issuing tokens from memory; admin changes answer 503 ERR_DB_UNAVAILABLE and change nothing', async () => {
    pg = await startTestPostgres();
    let issuer: IdentityIssuer | undefined;
    idServer = buildIdentityServer({ issuer: () => issuer! });
    const issuerUrl = await idServer.listen({ host: '127.0.0.1', port: 0 });
    issuer = createIdentityIssuer({ issuer: issuerUrl });
    idp = await buildIdp({
      databaseUrl: pg.url,
      adminToken: ADMIN,
      trustedIssuers: [{ issuer: issuerUrl, jwksUri: `${issuerUrl}/openid/v1/jwks` }],
    });
    const url = await idp.listen();
    const admin = (body: unknown) =>
      fetch(`${url}/admin/grants`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const exchange = () =>
      fetch(`${url}/oauth2/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT,
          subject_token: issuer!.mint({ namespace: 'p1-a', serviceAccount: 'default' }),
          subject_token_type: JWT_TOKEN_TYPE,
        }),
      });

    expect((await admin({ caller: 'p1-a', target: 'p1-b', roles: ['read'] })).status).toBe(200);
    const rev = idp.store.state.revision;
    await pg.stop();

    const res = await exchange();
    expect(res.status).toBe(200);
    const claims = JSON.parse(
      Buffer.from(((await res.json()) as { access_token: string }).access_token.split('.')[1]!, 'base64url').toString(),
    );
    expect(claims).toMatchObject({ aud: ['p1-b'], rev });

    const down = await admin({ caller: 'p1-a', target: 'p1-b', roles: ['read', 'write'] });
    expect(down.status).toBe(503);
    expect(((await down.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'ERR_DB_UNAVAILABLE',
      message: expect.stringContaining('nothing was changed'),
    });
    // PostgreSQL's text stays in the IdP's log (issue 15, item 4).
    expect(JSON.stringify(await (await admin({ caller: 'p1-a', target: 'p1-b', roles: ['read'] })).json())).not.toMatch(
      /ECONNREFUSED|127\.0\.0\.1|terminat|connect/i,
    );
    expect(idp.store.state.revision).toBe(rev);
    expect(idp.store.state.rolesByCaller.get('p1-a')).toEqual({ 'p1-b': ['read'] });
    pg = undefined;
  });
});
