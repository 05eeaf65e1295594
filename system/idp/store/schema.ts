import type { PoolClient } from 'pg';

/**
 * Idempotent schema of the IdP's permissions store. Every table is prefixed `idp_` so the IdP can share
 * a database with other components. Runs under an advisory lock so two starting IdPs do not race.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS idp_state (
  id int PRIMARY KEY CHECK (id = 1),
  revision bigint NOT NULL,
  refresh_epoch bigint NOT NULL,
  settings jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_grants (
  caller text NOT NULL,
  target text NOT NULL,
  roles text[] NOT NULL,
  PRIMARY KEY (caller, target)
);
CREATE TABLE IF NOT EXISTS idp_groups (
  name text PRIMARY KEY,
  members text[] NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_refresh_services (
  service text PRIMARY KEY,
  epoch bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_revoked_jtis (
  jti text PRIMARY KEY,
  exp bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_revoked_subjects (
  subject text PRIMARY KEY,
  issued_before bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  who text NOT NULL,
  what text NOT NULL,
  before jsonb,
  after jsonb,
  revision bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_signing_keys (
  kid text PRIMARY KEY,
  private_jwk jsonb NOT NULL,
  role text NOT NULL CHECK (role IN ('previous', 'current', 'next')),
  retired_at_ms bigint
);
`;

/** Arbitrary constant naming the migration lock. */
const MIGRATION_LOCK = 0x61757468; // "auth"

/** Creates the schema inside the caller's transaction (idempotent). */
export async function migrate(tx: PoolClient): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  await tx.query(SCHEMA_SQL);
}
