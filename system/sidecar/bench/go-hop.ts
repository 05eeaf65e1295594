/**
 * bench:hop's Go ceiling (go-hop/main.go): built with the machine's Go toolchain into `runs/bin/` (Go's
 * own build cache makes a rebuild of an unchanged source about a second), started with one P
 * (`GOMAXPROCS=1`, as every other forwarder in the bench gets one worker or one event loop) and stopped
 * by its pid. Its one dependency, fasthttp, comes from the Go module proxy on the first build (go.sum pins
 * it); without a Go toolchain or the proxy the bench leaves the Go ceiling out and says why.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnListeningCommand, type ListeningChild } from '../../../runner/platforms/local/child.js';

const source = fileURLToPath(new URL('./go-hop/', import.meta.url));
const binDir = fileURLToPath(new URL('../../../runs/bin/', import.meta.url));

/** Builds the Go ceiling; resolves with its binary, or with null and the reason (no Go toolchain, a build error). */
export async function buildGoHop(): Promise<{ binary: string } | { binary: null; reason: string }> {
  const binary = `${binDir}go-hop`;
  try {
    await mkdir(binDir, { recursive: true });
    await promisify(execFile)(process.env.GO_BIN ?? 'go', ['build', '-o', binary, '.'], { cwd: source });
    return { binary };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    return {
      binary: null,
      reason: e.code === 'ENOENT' ? 'no Go toolchain on PATH (go)' : `go build failed: ${(e.stderr ?? e.message).trim()}`,
    };
  }
}

/** Starts the built Go ceiling in front of `upstreamOrigin` (its `/query`) on a free port. */
export function startGoHop(binary: string, upstreamOrigin: string): Promise<ListeningChild> {
  return spawnListeningCommand(binary, [], { UPSTREAM: upstreamOrigin, GOMAXPROCS: '1' });
}
