import type { IdpMetrics } from './metrics.js';
import type { SigningKeyRing } from './signing-keys.js';
import type { PermissionsStore } from './store/permissions-store.js';
import type { SubjectTokenVerifier } from './subject-verifier.js';
import type { TokenLedger } from './token-ledger.js';
import type { TokenPlane } from './token-plane.js';

/** What the IdP's route modules share; built once by `buildIdp`. */
export interface IdpContext {
  store: PermissionsStore;
  keys: SigningKeyRing;
  verifier: SubjectTokenVerifier;
  metrics: IdpMetrics;
  /** Last token issued per subject (bounded, in memory): `GET /admin/status` `tokens`. */
  tokens: TokenLedger;
  /** `iss` of access tokens and discovery; known once listening when not configured. */
  issuer(): string;
  /** Discovery's `token_endpoint`: the Go token plane's when it runs, else the IdP's own. */
  tokenEndpoint(): string;
  /** The Go token plane, when the IdP runs one. */
  tokenPlane(): TokenPlane | undefined;
  /** Clock, ms since the epoch. */
  now(): number;
  /**
   * Longest lifetime any token signed by this IdP may still have, seconds: bounds how long previous
   * keys and jti revocations are kept.
   */
  maxTokenTtlSeconds(): number;
}
