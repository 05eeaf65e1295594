export * from './issuer.js';
export * from './server.js';
export * from './token-files.js';
export type { IdentityConfig } from './config.js';
export { parseIdentityConfig, loadIdentityConfig } from './config.js';
