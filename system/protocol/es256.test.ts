import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCanonicalEs256Segment, isLowS, toLowS } from './es256.js';

const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const HALF = N / 2n;

const toBytes = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
const toBig = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);
/** r||s with a random r and the given s. */
const sigWithS = (s: bigint) => Buffer.concat([randomBytes(32), toBytes(s)]);

describe('toLowS', () => {
  it('gives r||(n − s) for every high s, the same as big-integer arithmetic', () => {
    const edges = [HALF + 1n, HALF + 2n, N - 1n, N - 2n, N - 0x100n, N - (1n << 64n), HALF + (1n << 200n)];
    const random = Array.from({ length: 2000 }, () => HALF + 1n + (toBig(randomBytes(32)) % (N - HALF - 1n)));
    for (const s of [...edges, ...random]) {
      const sig = sigWithS(s);
      const low = toLowS(sig);
      expect(low.subarray(0, 32).equals(sig.subarray(0, 32))).toBe(true);
      expect(toBig(low.subarray(32))).toBe(N - s);
      expect(isLowS(low)).toBe(true);
    }
  });

  it('returns a low s unchanged, n/2 included', () => {
    for (const s of [1n, 2n, HALF - 1n, HALF]) {
      const sig = sigWithS(s);
      expect(toLowS(sig)).toBe(sig);
    }
  });

  it('keeps real signatures verifying, and turns the high half of them into their low twins', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let high = 0;
    for (let i = 0; i < 200; i++) {
      const data = randomBytes(40);
      const sig = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      if (!isLowS(sig)) high++;
      const low = toLowS(sig);
      expect(isLowS(low)).toBe(true);
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, low)).toBe(true);
      expect(isCanonicalEs256Segment(low.toString('base64url'))).toBe(true);
      // The high twin verifies too (ECDSA accepts both) but is not the canonical string the sidecars accept.
      const twin = Buffer.concat([low.subarray(0, 32), toBytes(N - toBig(low.subarray(32)))]);
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, twin)).toBe(true);
      expect(isCanonicalEs256Segment(twin.toString('base64url'))).toBe(false);
    }
    // OpenSSL picks either twin: out of 200, both kinds occur (all-low would mean the path above was never taken).
    expect(high).toBeGreaterThan(50);
    expect(high).toBeLessThan(150);
  });
});
