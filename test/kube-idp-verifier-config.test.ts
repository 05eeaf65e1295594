import { describe, expect, it } from 'vitest';
import { parseIdpConfig } from '../system/idp/config.js';
import { IssuerRoutedVerifier } from '../system/idp/issuer-router.js';
import { JwksIssuerVerifier, SubjectTokenError } from '../system/idp/subject-verifier.js';
import { verifierFor } from '../system/idp/verifier-config.js';

// The IdP's config chooses, per trusted issuer, how its service-account tokens are checked.
const base = { databaseUrl: 'postgres://x@127.0.0.1/idp', adminToken: 'a'.repeat(32) };
const jwt = (payload: object) => ['e30', Buffer.from(JSON.stringify(payload)).toString('base64url'), 'sig'].join('.');

describe('trustedIssuers: jwks or tokenreview per issuer', () => {
  it('accepts a TokenReview issuer without jwksUri, and says what is missing when apiServer is absent', () => {
    expect(() =>
      parseIdpConfig({
        ...base,
        trustedIssuers: [{ issuer: 'https://k', verify: 'tokenreview', tokenReview: { apiServer: 'https://10.96.77.1' } }],
      }),
    ).not.toThrow();
    expect(() => parseIdpConfig({ ...base, trustedIssuers: [{ issuer: 'https://k', verify: 'tokenreview' }] })).toThrow(
      /trustedIssuers\[0\]\.tokenReview\.apiServer must be the apiserver's https URL/,
    );
    expect(() => parseIdpConfig({ ...base, trustedIssuers: [{ issuer: 'https://k', verify: 'webhook' }] })).toThrow(
      /trustedIssuers\[0\]\.verify must be "jwks" or "tokenreview"/,
    );
    expect(() => parseIdpConfig({ ...base, trustedIssuers: [{ issuer: 'https://k' }] })).toThrow(
      /trustedIssuers\[0\] needs "jwksUri" \(an http\(s\) URL\) or "jwks"/,
    );
  });

  it('JWKS-only configs keep the plain JWKS verifier; a mix routes by iss and refuses other issuers', async () => {
    expect(await verifierFor([{ issuer: 'https://a', jwksUri: 'https://a/jwks' }])).toBeInstanceOf(JwksIssuerVerifier);
    const mixed = await verifierFor([
      { issuer: 'https://a', jwksUri: 'https://a/jwks' },
      { issuer: 'https://b', verify: 'tokenreview', tokenReview: { apiServer: 'https://127.0.0.1:1' } },
    ]);
    expect(mixed).toBeInstanceOf(IssuerRoutedVerifier);
    await expect(mixed.verify(jwt({ iss: 'https://c' }))).rejects.toMatchObject({ reason: 'untrusted_issuer' });
    // Issuer b goes to TokenReview: nothing listens on port 1, so the IdP answers "try again later".
    const err = await mixed.verify(jwt({ iss: 'https://b' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubjectTokenError);
    expect(err).toMatchObject({ oauthError: 'temporarily_unavailable', reason: 'review_unavailable' });
  });
});
