import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the generated dashboard JSON lives (checked in; Grafana provisioning reads it from here). */
export const GRAFANA_DIR = dirname(fileURLToPath(import.meta.url));
