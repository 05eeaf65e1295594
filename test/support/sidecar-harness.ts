/** Starts real sidecars against real PostgreSQL and the fixture IdP, for tests. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSidecar, type Sidecar, type SidecarOptions } from '../../system/sidecar/app.js';

/** Writes `token` to a fresh temp file standing in for the projected SA token; returns the path and a cleanup. */
export async function writeSaToken(token: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'authlab-sa-'));
  const path = join(dir, 'token');
  await writeFile(path, token);
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes (then throws `what`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Builds and starts a sidecar with quiet logs and a small seed. */
export async function startSidecar(options: SidecarOptions): Promise<{ sidecar: Sidecar; url: string }> {
  const sidecar = buildSidecar({ log: () => {}, seedRows: 10_000, ...options });
  const url = await sidecar.start();
  return { sidecar, url };
}
