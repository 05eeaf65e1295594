/** A role a caller holds on a target service. */
export type Role = 'read' | 'write';
export const ROLES: readonly Role[] = ['read', 'write'];

/** Named queries a sidecar serves; no SQL crosses the wire. */
export type QueryName = 'light' | 'heavy' | 'heavy-cached' | 'write';
export const QUERY_NAMES: readonly QueryName[] = ['light', 'heavy', 'heavy-cached', 'write'];

/** The role each named query requires. */
export const QUERY_ROLE: Readonly<Record<QueryName, Role>> = {
  light: 'read',
  heavy: 'read',
  // `heavy` through the sidecar's Redis cache (when configured), invalidated by `write`.
  'heavy-cached': 'read',
  write: 'write',
};

/** Bounds of the `heavy` query's `n` parameter (rows of generate_series). */
export const HEAVY_N_DEFAULT = 1_000_000;
export const HEAVY_N_MAX = 5_000_000;
