/**
 * ES256 (ECDSA P-256, JOSE's raw r||s) signature canonical form, shared by the IdP that signs and the
 * sidecar that verifies. ECDSA accepts both s and n − s for the same message, and OpenSSL returns
 * either; JOSE does not forbid the high one. Signing with low s only and refusing high s means one
 * token has exactly one string, so one jti is one verify-cache entry and one thing to revoke.
 */

/** The P-256 group order n. */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
/** n / 2 as 32 big-endian bytes: an `s` above it is the high twin. */
const P256_HALF_ORDER = Buffer.from('7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8', 'hex');

/** Bytes of an ES256 signature (r||s, 32 each). */
export const ES256_SIGNATURE_BYTES = 64;

/** True when the 64-byte r||s signature has s ≤ n/2. */
export function isLowS(signature: Uint8Array): boolean {
  return signature.length === ES256_SIGNATURE_BYTES && Buffer.compare(signature.subarray(32), P256_HALF_ORDER) <= 0;
}

/** The low-s form of a 64-byte r||s signature (itself when already low). */
export function toLowS(signature: Buffer): Buffer {
  if (isLowS(signature)) return signature;
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const low = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return Buffer.concat([signature.subarray(0, 32), low]);
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
