/**
 * A small stand-in IdP for the sidecar's tests (the real one is system/idp): discovery, JWKS, token
 * exchange and the settings stream, with knobs to fail, rotate, revoke and refresh. Real HTTP on loopback.
 */
import { generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { DEFAULT_SETTINGS, type Settings, type SettingsSnapshot } from '../../system/protocol/settings.js';
import type { Role } from '../../system/protocol/roles.js';
import { toLowS } from '../../system/protocol/es256.js';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateSigningKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, publicKey };
}

export interface MintOptions {
  sub: string;
  aud: string[];
  roles: Record<string, Role[]>;
  ttlSeconds?: number;
  iat?: number;
  exp?: number;
  nbf?: number;
  iss?: string;
  jti?: string;
  key?: SigningKey;
  /** Extra JOSE header fields (e.g. `jku`). */
  header?: Record<string, unknown>;
}

export interface FixtureIdp {
  url: string;
  issuer: string;
  key: SigningKey;
  /** Signs an access token (default: current key, TTL 300 s). */
  mint(o: MintOptions): string;
  /** Accept `saToken` at the token endpoint as `service`, issuing tokens for `aud` with `roles`. */
  register(saToken: string, service: string, aud: string[], roles: Record<string, Role[]>): void;
  /** Number of token exchanges answered 200, and of JWKS fetches. */
  counts: { tokens: number; jwks: number; streamConnects: number };
  /** Answer the next `n` token requests with this status (and Retry-After seconds). */
  failTokens(n: number, status: number, retryAfterSeconds?: number): void;
  /** Publish a new snapshot to every stream (revision + 1). */
  publish(change: (s: SettingsSnapshot) => void): SettingsSnapshot;
  /** Adds a key to the JWKS (rotation). */
  addKey(key: SigningKey): void;
  setCurrentKey(key: SigningKey): void;
  /** Closes every open stream (an IdP hiccup). */
  dropStreams(): void;
  /** Stops answering the stream (503) until called again with true. */
  setStreamAvailable(up: boolean): void;
  close(): Promise<void>;
}

export async function startFixtureIdp(options: { tokenTtlSeconds?: number } = {}): Promise<FixtureIdp> {
  const app = Fastify();
  // The token endpoint's form body; the fixture is lenient (the real IdP's parser is the strict one).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  const keys: SigningKey[] = [generateSigningKey('k1')];
  let current = keys[0]!;
  // Test-only signing with node:crypto (sync, and free to set any header or claim, as attacks need).
  const signerFor = (k: SigningKey, header: Record<string, unknown>) => (payload: Record<string, unknown>) => {
    const h = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: k.kid, ...header })).toString('base64url');
    const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const sig = toLowS(cryptoSign('sha256', Buffer.from(`${h}.${p}`), { key: k.privateKey, dsaEncoding: 'ieee-p1363' }));
    return `${h}.${p}.${sig.toString('base64url')}`;
  };
  const registry = new Map<string, { service: string; aud: string[]; roles: Record<string, Role[]> }>();
  const counts = { tokens: 0, jwks: 0, streamConnects: 0 };
  let failures: { n: number; status: number; retryAfter?: number } = { n: 0, status: 500 };
  let streamUp = true;
  const streams = new Set<ServerResponse>();
  let snapshot: SettingsSnapshot = {
    revision: 1,
    settings: structuredClone(DEFAULT_SETTINGS) as Settings,
    refresh: { epoch: 0, services: {} },
    revocations: { jtis: [], subjects: [] },
  };
  let url = '';
  const ttl = options.tokenTtlSeconds ?? 300;

  const idp: FixtureIdp = {
    url: '',
    issuer: '',
    key: current,
    counts,
    mint(o) {
      const now = Math.floor(Date.now() / 1000);
      const iat = o.iat ?? now;
      const payload: Record<string, unknown> = {
        iss: o.iss ?? idp.issuer,
        sub: o.sub,
        aud: o.aud,
        iat,
        exp: o.exp ?? iat + (o.ttlSeconds ?? ttl),
        jti: o.jti ?? randomUUID(),
        roles: o.roles,
        rev: 1,
      };
      if (o.nbf !== undefined) payload.nbf = o.nbf;
      return signerFor(o.key ?? current, o.header ?? {})(payload);
    },
    register(saToken, service, aud, roles) {
      registry.set(saToken, { service, aud, roles });
    },
    failTokens(n, status, retryAfterSeconds) {
      failures = { n, status, ...(retryAfterSeconds !== undefined ? { retryAfter: retryAfterSeconds } : {}) };
    },
    publish(change) {
      const next = structuredClone(snapshot);
      change(next);
      next.revision = snapshot.revision + 1;
      snapshot = next;
      const frame = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
      for (const s of streams) s.write(frame);
      return snapshot;
    },
    addKey(k) {
      keys.push(k);
    },
    setCurrentKey(k) {
      current = k;
      idp.key = k;
    },
    dropStreams() {
      for (const s of streams) s.destroy();
      streams.clear();
    },
    setStreamAvailable(up) {
      streamUp = up;
      if (!up) idp.dropStreams();
    },
    async close() {
      idp.dropStreams();
      await app.close();
    },
  };

  app.get('/.well-known/openid-configuration', async () => ({
    issuer: idp.issuer,
    token_endpoint: `${url}/v1/token`,
    jwks_uri: `${url}/v1/jwks`,
    grant_types_supported: ['urn:ietf:params:oauth:grant-type:token-exchange'],
    settings_stream_endpoint: `${url}/v1/settings/stream`,
  }));
  app.get('/v1/jwks', async () => {
    counts.jwks++;
    return { keys: keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: 'ES256', use: 'sig' })) };
  });
  app.post('/v1/token', async (request, reply) => {
    if (failures.n > 0) {
      failures.n--;
      if (failures.retryAfter !== undefined) reply.header('retry-after', String(failures.retryAfter));
      return reply
        .code(failures.status)
        .send({ error: failures.status === 400 ? 'invalid_grant' : 'temporarily_unavailable', error_description: 'fixture failure' });
    }
    const body = request.body as Record<string, string>;
    const entry = registry.get(body.subject_token ?? '');
    if (body.grant_type !== 'urn:ietf:params:oauth:grant-type:token-exchange' || !entry) {
      return reply.code(400).send({ error: 'invalid_grant', error_description: 'unknown subject token' });
    }
    counts.tokens++;
    const access_token = idp.mint({ sub: entry.service, aud: entry.aud, roles: entry.roles });
    return { access_token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: ttl };
  });
  app.get('/v1/settings/stream', (request, reply) => {
    const bearer = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!streamUp) return reply.code(503).send({ error: 'down' });
    if (!registry.has(bearer)) return reply.code(401).send({ error: 'unknown SA token' });
    counts.streamConnects++;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write(`: hello\n\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    streams.add(res);
    res.on('close', () => streams.delete(res));
    return undefined;
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  idp.url = url;
  idp.issuer = url;
  return idp;
}
