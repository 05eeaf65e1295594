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

/**
 * What the IdP config's TypeBox schema (system/idp/config.ts, which checks each field's type) cannot
 * say about `trustedIssuers[i]`: a JWKS issuer needs `jwksUri`, a TokenReview issuer
 * `tokenReview.apiServer`. One sentence in the schema checker's style, or undefined.
 */
export function trustedIssuerProblem(
  t: Pick<TrustedIssuerConfig, 'verify' | 'jwksUri' | 'jwks' | 'tokenReview'>,
  i: number,
): string | undefined {
  if (t.verify === 'tokenreview') {
    if (t.tokenReview?.apiServer === undefined)
      return `trustedIssuers[${i}].tokenReview.apiServer must be the apiserver's https URL (missing)`;
  } else if (t.jwksUri === undefined && t.jwks === undefined)
    return `trustedIssuers[${i}] needs "jwksUri" (an http(s) URL) or "jwks" (the keys inline, {"keys": [...]})`;
  else if (t.jwksUri !== undefined && t.jwks !== undefined)
    return `trustedIssuers[${i}] has both "jwksUri" and "jwks"; give one (the keys are either fetched or inline)`;
  return undefined;
}

/**
 * The IdP's subject-token verifier for its trusted issuers: one JWKS verifier for the JWKS issuers,
 * one TokenReview verifier per TokenReview issuer, routed by `iss` when both kinds are present.
 */
export async function verifierFor(issuers: readonly TrustedIssuerConfig[], jwksCacheSize?: number): Promise<SubjectTokenVerifier> {
  const jwksIssuers = issuers
    .filter((t) => t.verify !== 'tokenreview')
    .map((t) =>
      t.jwks ? { issuer: t.issuer, jwksUri: `the inline JWKS of ${t.issuer}`, jwks: t.jwks } : { issuer: t.issuer, jwksUri: t.jwksUri! },
    );
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
