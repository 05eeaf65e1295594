/**
 * Verification cost per token: cold (signature + claims, a token never seen) and warm (cache hit),
 * beside raw node:crypto ES256 verify in the same process. Run: `npm run bench:verify -- [--cold-tokens 3000]
 * [--warm-ops 300000] [--paced 150] [--gap-ms 10]`.
 * Targets (issue 3): warm ≤ 5 µs/op; cold ≤ 1.5× raw.
 *
 * Paced: a sidecar in a study sees one request every few ms (100 req/s per pair), not a tight loop, and
 * each request costs as if the code and data it needs had left the caches. So the bench also times single calls
 * made `--gap-ms` after a timer, in turn: the warm verify (cache hit), the SHA-256 of the token that its
 * cache key is, and an empty call (the measuring loop's own floor). On this host (2026-12-03) a SHA-256
 * that takes 1.4 µs back to back took 45 µs 10 ms after the last one, and a `Buffer.from` of the token 41:
 * what the study's in-band figures (verify 22–31 µs) measure is mostly that, not the verifier's work.
 */
import { createServer } from 'node:http';
import { generateKeyPairSync, hash, randomUUID, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createSigner } from 'fast-jwt';
import { toLowS } from '../../protocol/es256.js';
import { benchFlags } from '../../runtime/bench-flags.js';
import { createKeyStore } from '../verify/jwks.js';
import { createRevocationList } from '../verify/revocations.js';
import { createVerifyCache } from '../verify/verify-cache.js';
import { createTokenVerifier } from '../verify/verifier.js';

const flags = benchFlags('bench:verify', {
  numbers: {
    'cold-tokens': { default: 3000, integer: true },
    'warm-ops': { default: 300_000, integer: true },
    paced: { default: 150, integer: true },
    'gap-ms': 10,
  },
});
const COLD_TOKENS = flags.numbers['cold-tokens'];
const WARM_OPS = flags.numbers['warm-ops'];
const PACED = flags.numbers.paced;
const GAP_MS = flags.numbers['gap-ms'];
const ISSUER = 'http://127.0.0.1/bench-idp';

function mintTokens(privateKey: KeyObject, n: number): string[] {
  const sign = createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'ES256', kid: 'k1' });
  const now = Math.floor(Date.now() / 1000);
  // fast-jwt keeps OpenSSL's high or low s; the sidecar accepts low s only, as the IdP signs.
  const lowS = (t: string) => {
    const i = t.lastIndexOf('.');
    return `${t.slice(0, i)}.${toLowS(Buffer.from(t.slice(i + 1), 'base64url')).toString('base64url')}`;
  };
  return Array.from({ length: n }, () =>
    lowS(
      sign({
        iss: ISSUER,
        sub: 'p1-a',
        aud: ['p1-b'],
        iat: now,
        exp: now + 600,
        jti: randomUUID(),
        roles: { 'p1-b': ['read', 'write'] },
        rev: 1,
      }),
    ),
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

  // Interleave small blocks of raw and sidecar work (alternating which goes first) so that load
  // from other processes drifts over both alike; report totals and the median per-block ratio.
  let bad = 0;
  const BLOCK = 100;
  const raws: number[] = [];
  const colds: number[] = [];
  const timeRaw = (from: number) =>
    usPerOp(BLOCK, () => {
      for (let i = from; i < from + BLOCK; i++) {
        const p = parts[i]!;
        if (!cryptoVerify('sha256', p.data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p.sig)) bad++;
      }
    });
  const timeCold = (from: number) =>
    usPerOp(BLOCK, () => {
      for (let i = from; i < from + BLOCK; i++) if ((verifier.verify(headers[i]!) as { ok: boolean }).ok !== true) bad++;
    });
  for (let from = 0, k = 0; from + BLOCK <= COLD_TOKENS; from += BLOCK, k++) {
    if (k % 2 === 0) {
      raws.push(timeRaw(from));
      colds.push(timeCold(from));
    } else {
      colds.push(timeCold(from));
      raws.push(timeRaw(from));
    }
  }
  const warmHeader = headers[0]!;
  const WARM_BLOCK = 10_000;
  const warms: number[] = [];
  for (let done = 0; done < WARM_OPS; done += WARM_BLOCK) {
    warms.push(
      usPerOp(WARM_BLOCK, () => {
        for (let i = 0; i < WARM_BLOCK; i++) if ((verifier.verify(warmHeader) as { ok: boolean }).ok !== true) bad++;
      }),
    );
  }
  // Paced: each contender's call made alone, GAP_MS after a timer, the contenders in turn.
  const warmToken = warmHeader.slice(7);
  const paced: { name: string; fn: () => unknown; us: number[] }[] = [
    { name: 'nothing (the loop itself)', fn: () => 0, us: [] },
    { name: 'SHA-256 of the token', fn: () => hash('sha256', warmToken, 'base64'), us: [] },
    {
      name: 'sidecar verify, warm (cache hit)',
      fn: () => ((verifier.verify(warmHeader) as { ok: boolean }).ok !== true ? bad++ : 0),
      us: [],
    },
  ];
  const backToBackHash = usPerOp(WARM_BLOCK, () => {
    for (let i = 0; i < WARM_BLOCK; i++) hash('sha256', warmToken, 'base64');
  });
  for (let i = 0; i < PACED * paced.length; i++) {
    const c = paced[i % paced.length]!;
    await new Promise((r) => setTimeout(r, GAP_MS));
    const t0 = process.hrtime.bigint();
    c.fn();
    c.us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  if (bad > 0) throw new Error(`${bad} verifications failed: the benchmark is not measuring success paths`);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const raw = median(raws);
  const cold = median(colds);
  const warm = median(warms);
  const blockRatio = median(raws.map((r, i) => colds[i]! / r));

  const ratio = blockRatio;
  const fmt = (n: number) => n.toFixed(2).padStart(8);
  console.log(
    `node ${process.version}, ${COLD_TOKENS} distinct ES256 tokens in interleaved blocks of ${BLOCK}, ${WARM_OPS} warm ops; medians of blocks`,
  );
  console.log(`raw node:crypto ES256 verify   ${fmt(raw)} µs/op`);
  console.log(
    `sidecar verify, cold           ${fmt(cold)} µs/op  (${ratio.toFixed(2)}× raw, median block ratio; target ≤ 1.5×) ${ratio <= 1.5 ? 'OK' : 'MISSED'}`,
  );
  console.log(`sidecar verify, warm (cached)  ${fmt(warm)} µs/op  (target ≤ 5 µs) ${warm <= 5 ? 'OK' : 'MISSED'}`);
  const q = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  console.log(
    `\npaced: one call ${GAP_MS} ms after a timer, ${PACED} calls each, in turn (a study's sidecar sees one request every few ms)`,
  );
  for (const c of paced) console.log(`${c.name.padEnd(32)} p50 ${fmt(q(c.us, 0.5))} µs  p90 ${fmt(q(c.us, 0.9))} µs`);
  console.log(`SHA-256 of the token, back to back: ${backToBackHash.toFixed(2)} µs/op`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
