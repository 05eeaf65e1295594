import { parseArgs } from 'node:util';
import { buildClusterBinaries } from './build.js';
import { teardownCluster } from './down.js';
import { ClusterError } from './errors.js';
import { requireRoot } from './preflight.js';
import { clusterStatus, formatStatus } from './status.js';
import { clusterUp } from './up.js';

/** Same shape as the CLI's io (cluster/ does not import runner/). */
export interface ClusterIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `authlab cluster <command>
  build [--force]   build the pinned Kubernetes binaries into the cache (~15 min cold on 2 cores)
  up                start a single-node cluster on this host (root); prints the kubeconfig path
  status            node, versions, processes and pods
  down              stop the cluster and remove everything it made (also after a killed up)`;

/**
 * `authlab cluster build|up|down|status`: resolves the exit code. Problems the user can fix (no root,
 * a missing tool, a busy port, a stale cluster, a bad flag) print one sentence and give 2.
 */
export async function clusterCommand(argv: string[], io: ClusterIo): Promise<number> {
  const [sub, ...rest] = argv;
  const log = (l: string) => io.err(`authlab cluster: ${l}`);
  try {
    let force = false;
    try {
      force = !!parseArgs({ args: rest, options: { force: { type: 'boolean' } }, strict: true, allowPositionals: false }).values.force;
    } catch (err) {
      io.err(`authlab cluster: ${(err as Error).message.split('\n')[0]}; see \`authlab cluster --help\``);
      return 2;
    }
    if (force && sub !== 'build') {
      io.err(`authlab cluster: \`--force\` only applies to \`authlab cluster build\``);
      return 2;
    }
    switch (sub) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return 0;
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
      default:
        io.err(`authlab cluster: unknown command '${sub}'; use build, up, status or down (see \`authlab cluster --help\`)`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ClusterError && err.userFixable) {
      io.err(`authlab cluster: ${err.message}`);
      return 2;
    }
    if (err instanceof ClusterError && err.code === 'ERR_ABORTED') {
      io.err('authlab cluster: interrupted; everything started so far was removed');
      return 130;
    }
    io.err(`authlab cluster: ${(err as Error).message}`);
    if (process.env.AUTHLAB_DEBUG) io.err((err as Error).stack ?? '');
    return 1;
  }
}
