import { readFile } from 'node:fs/promises';
import { IssuerRoutedVerifier } from './issuer-router.js';
import { JwksIssuerVerifier, type SubjectTokenVerifier, type TrustedIssuer } from './subject-verifier.js';
import { TokenReviewVerifier } from './token-review-verifier.js';

/**
 * A trusted issuer in the IdP's config file: checked by JWKS signature (default; `jwksUri` required)
 * or by the cluster's TokenReview API (`verify: "tokenreview"` and `tokenReview`).
 */
export interface TrustedIssuerConfig extends Omit<TrustedIssuer, 'jwksUri'> {
  jwksUri?: string;
  verify?: 'jwks' | 'tokenreview';
  tokenReview?: {
    /** apiserver base URL (in a pod: `https://kubernetes.default.svc` or the `kubernetes` Service IP). */
    apiServer: string;
    /** CA bundle of the apiserver (in a pod: `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`). */
    caFile?: string;
    /** The IdP's own token (in a pod: `/var/run/secrets/kubernetes.io/serviceaccount/token`). */
    tokenFile?: string;
  };
}

/** Problems of one `trustedIssuers[i]` entry, as sentences saying what to put there. */
export function trustedIssuerProblems(raw: Record<string, unknown>, i: number): string[] {
  const url = (v: unknown) => typeof v === 'string' && /^https?:\/\/[^\s]+$/.test(v);
  const p: string[] = [];
  if (typeof raw.issuer !== 'string' || !raw.issuer) p.push(`"trustedIssuers[${i}].issuer" must be the issuer's exact iss string`);
  if (raw.verify !== undefined && raw.verify !== 'jwks' && raw.verify !== 'tokenreview')
    p.push(`"trustedIssuers[${i}].verify" must be "jwks" or "tokenreview"`);
  if (raw.verify === 'tokenreview') {
    const tr = (raw.tokenReview ?? {}) as Record<string, unknown>;
    if (!url(tr.apiServer)) p.push(`"trustedIssuers[${i}].tokenReview.apiServer" must be the apiserver's https URL`);
    for (const k of ['caFile', 'tokenFile'])
      if (tr[k] !== undefined && typeof tr[k] !== 'string') p.push(`"trustedIssuers[${i}].tokenReview.${k}" must be a file path`);
  } else if (!url(raw.jwksUri)) p.push(`"trustedIssuers[${i}].jwksUri" must be an http(s) URL`);
  return p;
}

/**
 * The IdP's subject-token verifier for its trusted issuers: one JWKS verifier for the JWKS issuers,
 * one TokenReview verifier per TokenReview issuer, routed by `iss` when both kinds are present.
 */
export async function verifierFor(issuers: readonly TrustedIssuerConfig[], jwksCacheSize?: number): Promise<SubjectTokenVerifier> {
  const jwksIssuers = issuers.filter((t) => t.verify !== 'tokenreview').map((t) => ({ issuer: t.issuer, jwksUri: t.jwksUri! }));
  const reviewIssuers = issuers.filter((t) => t.verify === 'tokenreview');
  const jwks = jwksIssuers.length
    ? new JwksIssuerVerifier({ trustedIssuers: jwksIssuers, ...(jwksCacheSize !== undefined ? { cacheSize: jwksCacheSize } : {}) })
    : undefined;
  if (!reviewIssuers.length && jwks) return jwks;
  const routes = new Map<string, SubjectTokenVerifier>();
  for (const t of jwksIssuers) routes.set(t.issuer, jwks!);
  for (const t of reviewIssuers) {
    const tr = t.tokenReview!;
    const ca = tr.caFile ? await readFile(tr.caFile, 'utf8') : undefined;
    routes.set(
      t.issuer,
      new TokenReviewVerifier({
        cluster: { issuer: t.issuer, apiServer: tr.apiServer, ...(ca ? { ca } : {}), ...(tr.tokenFile ? { tokenFile: tr.tokenFile } : {}) },
      }),
    );
  }
  return new IssuerRoutedVerifier(routes);
}
