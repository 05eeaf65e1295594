/**
 * Verification cost per token: cold (signature + claims, a token never seen) and warm (cache hit),
 * beside raw node:crypto ES256 verify in the same process. Run: `npm run bench:verify`.
 * Targets (issue 3): warm ≤ 5 µs/op; cold ≤ 1.5× raw.
 */
import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createSigner } from 'fast-jwt';
import { createKeyStore } from '../verify/jwks.js';
import { createRevocationList } from '../verify/revocations.js';
import { createVerifyCache } from '../verify/verify-cache.js';
import { createTokenVerifier } from '../verify/verifier.js';

const COLD_TOKENS = Number(process.env.BENCH_COLD_TOKENS ?? 3000);
const WARM_OPS = Number(process.env.BENCH_WARM_OPS ?? 300_000);
const ISSUER = 'http://127.0.0.1/bench-idp';

function mintTokens(privateKey: KeyObject, n: number): string[] {
  const sign = createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'ES256', kid: 'k1' });
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, () =>
    sign({ iss: ISSUER, sub: 'p1-a', aud: ['p1-b'], iat: now, exp: now + 600, jti: randomUUID(), roles: { 'p1-b': ['read', 'write'] }, rev: 1 }),
  );
}

function usPerOp(ops: number, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / ops;
}

async function main(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const keys = createKeyStore({ jwksUri: `http://127.0.0.1:${port}/jwks` });
  await keys.refresh();
  server.close();

  const cache = createVerifyCache(COLD_TOKENS * 2);
  const verifier = createTokenVerifier({ service: 'p1-b', issuer: ISSUER, keys, cache, revocations: createRevocationList() });
  const tokens = mintTokens(privateKey, COLD_TOKENS);
  const headers = tokens.map((t) => `Bearer ${t}`);
  const parts = tokens.map((t) => {
    const i = t.lastIndexOf('.');
    return { data: Buffer.from(t.slice(0, i)), sig: Buffer.from(t.slice(i + 1), 'base64url') };
  });

  // Warm up the JIT on a slice, then measure on fresh tokens/cache.
  for (let i = 0; i < 300; i++) {
    const p = parts[i]!;
    cryptoVerify('sha256', p.data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p.sig);
    verifier.verify(headers[i]!);
  }
  cache.clear();

  let bad = 0;
  const raw = usPerOp(COLD_TOKENS, () => {
    for (const p of parts) if (!cryptoVerify('sha256', p.data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p.sig)) bad++;
  });
  const cold = usPerOp(COLD_TOKENS, () => {
    for (const h of headers) if ((verifier.verify(h) as { ok: boolean }).ok !== true) bad++;
  });
  const warmHeader = headers[0]!;
  const warm = usPerOp(WARM_OPS, () => {
    for (let i = 0; i < WARM_OPS; i++) if ((verifier.verify(warmHeader) as { ok: boolean }).ok !== true) bad++;
  });
  if (bad > 0) throw new Error(`${bad} verifications failed: the benchmark is not measuring success paths`);

  const ratio = cold / raw;
  const fmt = (n: number) => n.toFixed(2).padStart(8);
  console.log(`node ${process.version}, ${COLD_TOKENS} distinct ES256 tokens, ${WARM_OPS} warm ops`);
  console.log(`raw node:crypto ES256 verify   ${fmt(raw)} µs/op`);
  console.log(`sidecar verify, cold           ${fmt(cold)} µs/op  (${ratio.toFixed(2)}× raw; target ≤ 1.5×) ${ratio <= 1.5 ? 'OK' : 'MISSED'}`);
  console.log(`sidecar verify, warm (cached)  ${fmt(warm)} µs/op  (target ≤ 5 µs) ${warm <= 5 ? 'OK' : 'MISSED'}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
