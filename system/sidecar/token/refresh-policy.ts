/**
 * When a token source refreshes a token it holds. A policy maps a token's lifetime to the
 * wall-clock time (ms since epoch) of the next refresh; it is pure so studies can compare
 * policies and tests can check them without a clock.
 */

/** Names of the built-in policies (docs/DESIGN.md §2 "Token source"). */
export type RefreshPolicyName = 'window' | 'uniform-now-exp' | 'spire' | 'kubelet';

export const REFRESH_POLICY_NAMES: readonly RefreshPolicyName[] = ['window', 'uniform-now-exp', 'spire', 'kubelet'];

/**
 * @param issuedAtMs  the token's `iat`, ms since epoch
 * @param expiresAtMs the token's `exp`, ms since epoch
 * @param nowMs       current time, ms since epoch (when the token arrived)
 * @param random      a uniform draw in [0, 1)
 * @returns refresh time, ms since epoch (the token source clamps it to [now, exp])
 */
export type RefreshPolicy = (issuedAtMs: number, expiresAtMs: number, nowMs: number, random: number) => number;

/** Default: uniform in [50%, 90%] of iat→exp, which spreads a fleet's refreshes over 40% of the lifetime. */
export const windowPolicy: RefreshPolicy = (iat, exp, _now, r) => iat + (exp - iat) * (0.5 + 0.4 * r);

/** The seed's policy: uniform between now and exp (may refresh right away or at the last moment). */
export const uniformNowExpPolicy: RefreshPolicy = (_iat, exp, now, r) => now + (exp - now) * r;

/**
 * SPIRE-like: rotate at half the lifetime with ±10% jitter of that half-life, i.e. uniform in
 * [45%, 55%] of iat→exp (SPIRE agent's `shouldRotate` half-life + jitter).
 */
export const spirePolicy: RefreshPolicy = (iat, exp, _now, r) => iat + (exp - iat) * 0.5 * (0.9 + 0.2 * r);

/** kubelet-like: refresh at exactly 80% of the lifetime (the kubelet's projected-token manager). */
export const kubeletPolicy: RefreshPolicy = (iat, exp) => iat + (exp - iat) * 0.8;

/** The built-in policies by name. */
export const REFRESH_POLICIES: Readonly<Record<RefreshPolicyName, RefreshPolicy>> = {
  window: windowPolicy,
  'uniform-now-exp': uniformNowExpPolicy,
  spire: spirePolicy,
  kubelet: kubeletPolicy,
};

/** Resolves a policy name (default `window`); throws a message listing the valid names. */
export function refreshPolicyByName(name: string | undefined): RefreshPolicy {
  const key = (name ?? 'window') as RefreshPolicyName;
  const policy = REFRESH_POLICIES[key];
  if (!policy) {
    throw new Error(`refreshPolicy must be one of ${REFRESH_POLICY_NAMES.join(', ')} (got '${name}')`);
  }
  return policy;
}
