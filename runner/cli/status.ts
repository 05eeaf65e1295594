import { EXIT } from '../../system/protocol/errors.js';
import type { ComponentStatus } from '../platforms/local/supervisor.js';
import type { CliIo } from './io.js';
import { isAlive, isAuthlabProcess, readState, runsDir, upPaths } from './state.js';

/** What a live probe of one component says. */
interface Probe {
  ready: boolean;
  /** `ready`, or what is wrong in a few words. */
  note: string;
}

/** GET `url` within 2 s: 200 is ready; a sidecar's 503 says what it cannot do. */
async function probe(url: string): Promise<Probe> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (res.status === 200) return { ready: true, note: 'ready' };
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    return { ready: false, note: `not ready (${res.status})${body.message ? `: ${body.message}` : ''}` };
  } catch (err) {
    return { ready: false, note: `not answering (${(err as Error).message})` };
  }
}

function readinessUrl(name: string, url: string | undefined): string | null {
  if (url === undefined) return null;
  return name === 'idp' || name === 'identity' ? `${url}/.well-known/openid-configuration` : `${url}/readyz`;
}

async function check(name: string, c: ComponentStatus): Promise<Probe> {
  if (c.state === 'restarting') return { ready: false, note: 'restarting' };
  if (!isAlive(c.pid)) return { ready: false, note: c.state === 'down' ? 'down (not restarted)' : 'not running' };
  const url = readinessUrl(name, c.url);
  return url ? probe(url) : { ready: true, note: 'running' };
}

/**
 * `authlab status`: whether `authlab up` runs and, per component, pid, live readiness (a sidecar's
 * 503 names what it cannot do), restarts and last event; then the latest events. Exit 0 when every
 * component is ready, 1 otherwise (also when nothing runs).
 */
export async function statusCommand(io: CliIo): Promise<number> {
  const paths = upPaths(runsDir());
  const state = await readState(paths.state);
  if (!state) {
    io.out('authlab up is not running (no runs/up/state.json)');
    return EXIT.failure;
  }
  if (!(await isAuthlabProcess(state.pid))) {
    io.out(`authlab up (pid ${state.pid}) is not running any more; \`authlab down\` stops what it left and removes its state`);
    return EXIT.failure;
  }
  if (state.status === 'ready' && (state.platform === 'kube' || state.platform === 'kind')) {
    const lists =
      state.platform === 'kube'
        ? '`authlab cluster status` lists them'
        : '`kubectl get pods -A` with the kubeconfig in runs/up/endpoints.json lists them';
    io.out(
      `authlab up (pid ${state.pid}, since ${state.startedAt}): ready on the ${state.platform} platform; Kubernetes supervises the pods (${lists})`,
    );
    return EXIT.ok;
  }
  if (state.status !== 'ready' || !state.components) {
    io.out(`authlab up (pid ${state.pid}) is starting (since ${state.startedAt})`);
    return EXIT.failure;
  }
  const names = Object.keys(state.components);
  const probes = await Promise.all(names.map((n) => check(n, state.components![n]!)));
  const width = Math.max(...names.map((n) => n.length));
  const allReady = probes.every((p) => p.ready);
  io.out(`authlab up (pid ${state.pid}, since ${state.startedAt}): ${allReady ? 'every component ready' : 'NOT every component is ready'}`);
  names.forEach((name, i) => {
    const c = state.components![name]!;
    const last = c.lastEvent ? `; last: ${c.lastEvent.kind} (${c.lastEvent.detail}) at ${c.lastEvent.at}` : '';
    io.out(`  ${name.padEnd(width)}  pid ${String(c.pid).padEnd(7)} ${probes[i]!.note}; restarts ${c.restarts}${last}`);
  });
  const events = state.events ?? [];
  if (events.length > 0) {
    io.out('recent events:');
    for (const e of events.slice(-5)) io.out(`  ${e.at}  ${e.component} (pid ${e.pid}) ${e.kind}: ${e.detail}`);
  }
  return allReady ? EXIT.ok : EXIT.failure;
}
