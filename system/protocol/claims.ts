import type { Role } from './roles.js';

/** Audience of projected service-account tokens the IdP accepts. */
export const SA_TOKEN_AUDIENCE = 'authlab-idp';

/** Claims of a Kubernetes projected service-account token (exact Kubernetes layout). */
export interface ServiceAccountClaims {
  iss: string;
  /** `system:serviceaccount:<namespace>:<serviceaccount>` */
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod: { name: string; uid: string };
  };
}

/** Claims of an access token minted by the IdP (ES256, `kid` in the header). */
export interface AccessTokenClaims {
  iss: string;
  /** Caller service (its namespace). */
  sub: string;
  /** Target services the caller may call. */
  aud: string[];
  iat: number;
  exp: number;
  jti: string;
  /** Roles per target: `{"p1-b": ["read", "write"]}`. */
  roles: Record<string, Role[]>;
  /** Permissions revision the token was cut from. */
  rev: number;
}

/** `system:serviceaccount:<ns>:<sa>` → `{ namespace, serviceAccount }`, or null when malformed. */
export function parseServiceAccountSubject(sub: string): { namespace: string; serviceAccount: string } | null {
  const parts = sub.split(':');
  if (parts.length !== 4 || parts[0] !== 'system' || parts[1] !== 'serviceaccount') return null;
  const namespace = parts[2] ?? '';
  const serviceAccount = parts[3] ?? '';
  if (!namespace || !serviceAccount) return null;
  return { namespace, serviceAccount };
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
