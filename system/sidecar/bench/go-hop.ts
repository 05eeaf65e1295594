/**
 * bench:hop's Go ceiling (dataplane/cmd/hop-ceiling): built with the machine's Go toolchain into
 * `runs/bin/` (data-plane.ts `buildGoProgram('hop-ceiling')`), started with one P (`GOMAXPROCS=1`, as every other
 * forwarder in the bench gets one worker or one event loop) and stopped by its pid. Without a Go toolchain
 * or the module proxy the bench leaves the Go ceiling out and says why.
 */
import { spawnListeningCommand, type ListeningChild } from '../../../runner/platforms/local/child.js';

/** Starts the built Go ceiling in front of `upstreamOrigin` (its `/query`) on a free port. */
export function startGoHop(binary: string, upstreamOrigin: string): Promise<ListeningChild> {
  return spawnListeningCommand(binary, [], { UPSTREAM: upstreamOrigin, GOMAXPROCS: '1' });
}
