import type { ClusterArgs } from '../runner/cli/args.js';
import { buildClusterBinaries } from './build.js';
import { teardownCluster } from './down.js';
import { EXIT } from '../system/protocol/errors.js';
import { ClusterError } from './errors.js';
import { requireRoot } from './preflight.js';
import { clusterStatus, formatStatus } from './status.js';
import { clusterUp } from './up.js';

/** Same shape as the CLI's io. */
export interface ClusterIo {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `authlab cluster build|up|down|status` (flags parsed and checked by runner/cli/args.ts): resolves the
 * exit code. A {@link ClusterError} propagates to the CLI, which exits with its catalogue code (2 when
 * the user must act: no root, a missing tool, a busy port, a stale cluster); an interrupted `up` gives 130.
 */
export async function clusterCommand(args: ClusterArgs, io: ClusterIo): Promise<number> {
  const { sub, force } = args;
  const log = (l: string) => io.err(`authlab cluster: ${l}`);
  try {
    switch (sub) {
      case 'build': {
        const t0 = performance.now();
        const r = await buildClusterBinaries({ log, force });
        io.out(
          `binaries in ${r.binDir}: built ${r.built.map((b) => `${b.name} ${b.seconds} s`).join(', ') || 'none'}; reused ${r.reused.length}; ${((performance.now() - t0) / 1000).toFixed(1)} s in all`,
        );
        return 0;
      }
      case 'up': {
        const ac = new AbortController();
        const onSignal = () => ac.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const r = await clusterUp({ log, signal: ac.signal });
          io.out(`cluster up: node Ready in ${(r.readyMs / 1000).toFixed(1)} s`);
          io.out(`  kubeconfig ${r.kubeconfig}`);
          io.out('`authlab cluster status` shows it; `authlab cluster down` removes it.');
          return 0;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }
      case 'down': {
        requireRoot('down');
        const r = await teardownCluster({ log });
        io.out(
          r.found
            ? `cluster down in ${(r.ms / 1000).toFixed(1)} s: stopped ${r.processes} processes, removed ${r.chains} iptables chains, ${r.ipsets} ipsets, ${r.mounts} mounts, the bridge and the cluster directory`
            : 'no cluster was up; nothing to remove',
        );
        return 0;
      }
      case 'status': {
        const s = await clusterStatus();
        for (const l of formatStatus(s)) io.out(l);
        return s.up || !s.kubeconfig ? 0 : 1;
      }
    }
  } catch (err) {
    if (err instanceof ClusterError && err.code === 'ERR_ABORTED') {
      io.err('authlab cluster: interrupted; everything started so far was removed');
      return EXIT.interrupted;
    }
    throw err;
  }
}
