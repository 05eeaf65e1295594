import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIdentityIssuer } from './issuer.js';
import { createTokenFileWriter, type TokenFileWriter } from './token-files.js';

describe('token file writer', () => {
  let dir: string | undefined;
  let writer: TokenFileWriter | undefined;
  afterEach(async () => {
    writer?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString());

  it('writes <dir>/<namespace>/token per service and rewrites it at 80% of the TTL, atomically', async () => {
    dir = await mkdtemp(join(tmpdir(), 'authlab-tokens-'));
    const issuer = createIdentityIssuer({ issuer: 'http://127.0.0.1:1' });
    writer = createTokenFileWriter({
      issuer,
      tokenDir: dir,
      ttlSeconds: 2,
      services: [
        { namespace: 'p1-a', serviceAccount: 'default' },
        { namespace: 'p1-b', serviceAccount: 'default' },
      ],
    });
    await writer.writeAll();
    const first = await readFile(join(dir, 'p1-a', 'token'), 'utf8');
    expect(claims(first)['kubernetes.io'].namespace).toBe('p1-a');
    expect(claims(await readFile(join(dir, 'p1-b', 'token'), 'utf8')).sub).toBe('system:serviceaccount:p1-b:default');

    // Not yet at 80% (1.6 s): unchanged.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await readFile(join(dir, 'p1-a', 'token'), 'utf8')).toBe(first);
    // Past 80%, before expiry: a new token, still valid.
    await new Promise((r) => setTimeout(r, 900));
    const second = await readFile(join(dir, 'p1-a', 'token'), 'utf8');
    expect(second).not.toBe(first);
    expect(claims(second).jti).not.toBe(claims(first).jti);
    expect(claims(second).exp).toBeGreaterThan(Date.now() / 1000);
    // No temp files left behind.
    expect(await readdir(join(dir, 'p1-a'))).toEqual(['token']);
  });
});
