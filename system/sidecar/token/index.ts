export * from './token-source.js';
export * from './refresh-policy.js';
export * from './backoff.js';
export * from './exchange.js';
