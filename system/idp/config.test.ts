import { describe, expect, it } from 'vitest';
import { parseIdentityConfig } from '../identity/config.js';
import { parseIdpConfig } from './config.js';

const ok = {
  databaseUrl: 'postgres://u:p@127.0.0.1:5432/postgres',
  adminToken: '0123456789abcdef0123',
  trustedIssuers: [{ issuer: 'http://127.0.0.1:1', jwksUri: 'http://127.0.0.1:1/openid/v1/jwks' }],
};

describe('config validation', () => {
  it('accepts a minimal IdP config and names the field that is wrong otherwise', () => {
    expect(parseIdpConfig(ok)).toEqual(ok);
    const bad: [unknown, RegExp][] = [
      [{ ...ok, adminToken: 'short' }, /"adminToken".*16/],
      [{ ...ok, trustedIssuers: [] }, /"trustedIssuers"/],
      [{ ...ok, trustedIssuers: [{ issuer: 'x', jwksUri: 'ftp://x' }] }, /trustedIssuers\[0\]\.jwksUri/],
      [{ ...ok, databaseUrl: 'mysql://x' }, /"databaseUrl"/],
      [{ ...ok, tokenTtlSeconds: 3 }, /tokenTtlSeconds must be an integer 10\.\.86400/],
      [{ ...ok, initialSettings: { global: { verifyMode: 'loud' } } }, /verifyMode must be one of off, observe, enforce/],
      [{ ...ok, port: 70000 }, /"port"/],
      [[], /JSON object/],
      [{ ...ok, trustedIssuers: [{ issuer: 'x' }] }, /trustedIssuers\[0\] needs "jwksUri".* or "jwks"/],
      [{ ...ok, trustedIssuers: [{ issuer: 'x', jwks: { keys: [] } }] }, /trustedIssuers\[0\]\.jwks.*at least one key/],
      [
        { ...ok, trustedIssuers: [{ issuer: 'x', jwksUri: 'http://x/j', jwks: { keys: [{ kty: 'EC' }] } }] },
        /has both "jwksUri" and "jwks"/,
      ],
      [{ ...ok, tokenPlane: { port: 8082 } }, /tokenPlane\.binary.*token plane's binary/],
      [{ ...ok, tokenPlane: { binary: '/bin/tp', port: -1 } }, /tokenPlane\.port/],
      [{ ...ok, tokenPlane: { binary: '/bin/tp', url: 'idp:8082' } }, /tokenPlane\.url.*http\(s\) base URL/],
    ];
    const withPlane = { ...ok, tokenPlane: { binary: '/bin/tp', port: 8082, url: 'http://10.96.0.9:8082' } };
    expect(parseIdpConfig(withPlane)).toEqual(withPlane);
    for (const [cfg, msg] of bad) expect(() => parseIdpConfig(cfg, 'idp.json')).toThrow(msg);
  });

  it('validates the identity config', () => {
    const id = { tokenDir: '/tmp/t', services: [{ namespace: 'p1-a', serviceAccount: 'default' }] };
    expect(parseIdentityConfig(id)).toEqual(id);
    expect(() => parseIdentityConfig({ ...id, tokenDir: '' })).toThrow(/"tokenDir"/);
    expect(() => parseIdentityConfig({ ...id, services: [{ namespace: 'P1_A', serviceAccount: 'default' }] })).toThrow(
      /services\[0\]\.namespace/,
    );
    expect(() => parseIdentityConfig({ ...id, tokenTtlSeconds: 0 })).toThrow(/tokenTtlSeconds/);
  });
});
