export * from './modes.js';
export * from './roles.js';
export * from './claims.js';
export * from './settings.js';
export * from './errors.js';
export * from './excerpt.js';
export * from './metrics.js';
export * from './endpoints.js';
