import { SubjectTokenError } from './subject-errors.js';
import type { SubjectTokenVerifier, TokenPlaneTrust, VerifiedSubject } from './subject-verifier.js';

/**
 * Picks the verifier by the token's (unverified) `iss`, so each trusted issuer can be checked its own
 * way — JWKS signatures for one cluster, TokenReview for another. The chosen verifier does the real
 * check (and checks `iss` again); an issuer without a route is refused.
 */
export class IssuerRoutedVerifier implements SubjectTokenVerifier {
  constructor(private readonly routes: ReadonlyMap<string, SubjectTokenVerifier>) {}

  /** The routed verifiers, each once. */
  private verifiers(): SubjectTokenVerifier[] {
    return [...new Set(this.routes.values())];
  }

  /** The JWKS issuers' trust (TokenReview issuers have none: the Go token plane forwards their tokens). */
  trust(): TokenPlaneTrust | null {
    const all = this.verifiers()
      .map((v) => v.trust?.() ?? null)
      .filter((t) => t !== null);
    if (all.length === 0) return null;
    return { ...all[0]!, issuers: all.flatMap((t) => t.issuers) };
  }

  onTrustChange(listener: () => void): void {
    for (const v of this.verifiers()) v.onTrustChange?.(listener);
  }

  async prime(): Promise<void> {
    await Promise.all(this.verifiers().map((v) => v.prime?.()));
  }

  async verify(token: string): Promise<VerifiedSubject> {
    let iss: unknown;
    try {
      iss = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    } catch (err) {
      throw new SubjectTokenError(
        'invalid_grant',
        'malformed',
        'subject_token is not a JWT (three base64url parts with a JSON header and payload)',
        { cause: err },
      );
    }
    const verifier = typeof iss === 'string' ? this.routes.get(iss) : undefined;
    if (!verifier)
      throw new SubjectTokenError(
        'invalid_grant',
        'untrusted_issuer',
        `subject_token issuer ${JSON.stringify(iss)} is not trusted; add it to trustedIssuers`,
      );
    const subject = await verifier.verify(token);
    if (subject.issuer !== iss)
      throw new SubjectTokenError(
        'invalid_grant',
        'untrusted_issuer',
        `subject_token issuer ${JSON.stringify(iss)} was verified as ${subject.issuer}`,
      );
    return subject;
  }
}
