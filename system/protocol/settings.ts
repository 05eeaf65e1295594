import type { SignMode, VerifyMode } from './modes.js';

export interface ServiceSettings {
  signMode: SignMode;
  verifyMode: VerifyMode;
}

export interface GlobalSettings extends ServiceSettings {
  /** Lifetime of access tokens the IdP mints, seconds. */
  tokenTtlSeconds: number;
}

/** `GET /admin/settings` and the `settings` part of the stream. Per-service entries override global. */
export interface Settings {
  global: GlobalSettings;
  services: Record<string, Partial<ServiceSettings>>;
}

export interface Revocations {
  /** Revoked token ids with their `exp` (seconds) so holders can forget them after expiry. */
  jtis: { jti: string; exp: number }[];
  /** Tokens of `subject` with `iat < issuedBefore` (seconds) are revoked. */
  subjects: { subject: string; issuedBefore: number }[];
}

/**
 * One snapshot sent on the IdP's settings stream (`GET /v1/settings/stream`, SSE, `event: snapshot`).
 * A snapshot is sent on connect and after every change; `: ping` comments keep the stream alive.
 * A sidecar re-fetches its token when `refresh.epoch` or `refresh.services[<self>]` grows past what it saw
 * (the first snapshot after a (re)connect only records the epochs).
 */
export interface SettingsSnapshot {
  revision: number;
  settings: Settings;
  refresh: { epoch: number; services: Record<string, number> };
  revocations: Revocations;
}

/**
 * The longest access-token lifetime the IdP can be set to, seconds: what a sidecar allows before it
 * has seen the IdP's own `tokenTtlSeconds`.
 */
export const TOKEN_TTL_LIMIT_SECONDS = 86_400;

export const DEFAULT_SETTINGS: Settings = {
  global: { signMode: 'on', verifyMode: 'enforce', tokenTtlSeconds: 300 },
  services: {},
};

/** Effective settings for one service: its overrides merged over global. */
export function effectiveSettings(settings: Settings, service: string): ServiceSettings {
  const own = settings.services[service] ?? {};
  return {
    signMode: own.signMode ?? settings.global.signMode,
    verifyMode: own.verifyMode ?? settings.global.verifyMode,
  };
}
