/**
 * The Node ceiling of `bench:idp`: the least a Node server can do to answer a token exchange — node:http,
 * the form body read as one string, the SA token's RS256 signature verified with a parsed KeyObject
 * (unless `VERIFY=0`: the IdP's SA-token cache hit), its payload parsed, one ES256 access token signed
 * with a parsed KeyObject, JSON out — with no framework, no grants lookup, no ledger, no metrics, no
 * input checks beyond what the crypto needs. What the IdP pays above this is its own; what this pays
 * above the raw crypto loop is Node's HTTP stack and the kernel's loopback TCP on this host.
 *
 * `JWKS_URL=... [VERIFY=0] node --import tsx bare-exchange.ts` prints `{"event":"listening","url":...}`
 * and stops on SIGTERM.
 */
import { createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { announceListening } from '../../runtime/announce.js';

const jwksUrl = process.env.JWKS_URL;
if (!jwksUrl) {
  console.error('bare-exchange: set JWKS_URL to the SA token issuer JWKS');
  process.exit(2);
}
const verifyEvery = process.env.VERIFY !== '0';
const jwks = (await (await fetch(jwksUrl)).json()) as { keys: (JsonWebKey & { kid: string })[] };
const keys = new Map<string, KeyObject>(jwks.keys.map((k) => [k.kid, createPublicKey({ key: k, format: 'jwk' })]));
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: 'bare' })).toString('base64url');

function exchange(body: string): string | null {
  const token = new URLSearchParams(body).get('subject_token');
  if (!token) return null;
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) return null;
  if (verifyEvery) {
    const kid = (JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid?: string }).kid;
    const key = kid === undefined ? undefined : keys.get(kid);
    if (!key || !verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return null;
  }
  const sa = JSON.parse(Buffer.from(p, 'base64url').toString()) as { sub?: string };
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: 'bare', sub: sa.sub, aud: 'bare', iat: now, exp: now + 300, jti: randomUUID() };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const sig = sign('sha256', Buffer.from(input), { key: signing, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.on('end', () => {
    const token = exchange(body);
    if (token === null) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
      return;
    }
    const answer = JSON.stringify({
      access_token: token,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 300,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(answer);
  });
});
announceListening(server);
