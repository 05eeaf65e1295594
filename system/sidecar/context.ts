import type { DataPlane } from './data-plane.js';
import type { ServiceDatabase } from './db/database.js';
import type { IdpLink } from './idp-link.js';
import type { SidecarMetrics } from './metrics.js';
import type { SettingsState } from './settings/settings-state.js';

/** What the routes share; built once by buildSidecar. */
export interface SidecarContext {
  service: string;
  pair: number;
  db: ServiceDatabase;
  link: IdpLink;
  settings: SettingsState;
  metrics: SidecarMetrics;
  localAdminToken: string | undefined;
  peers: Record<string, string>;
  /** Uniform [0,1): light's default id. */
  random: () => number;
  /** Operational messages. */
  log: (msg: string) => void;
  /** The Go data plane once started (config `dataPlane`), else null. */
  dataPlane: () => DataPlane | null;
}
