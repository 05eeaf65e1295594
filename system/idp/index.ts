export { buildIdp, type Idp, type IdpOptions } from './app.js';
export { parseIdpConfig, loadIdpConfig, type IdpConfig } from './config.js';
export {
  JwksIssuerVerifier,
  SubjectTokenError,
  type SubjectTokenVerifier,
  type TrustedIssuer,
  type VerifiedSubject,
} from './subject-verifier.js';
export { TOKEN_PATH } from './routes/token-exchange.js';
export { JWKS_PATH } from './routes/discovery.js';
export type { Grant, Group } from './store/state.js';
export type { AuditEntry } from './store/permissions-store.js';
