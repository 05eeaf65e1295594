export { buildSidecar, type Sidecar, type SidecarOptions } from './app.js';
export { loadSidecarConfig, validateSidecarConfig, type SidecarConfig } from './config.js';
export * from './token/index.js';
