import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { PlatformError } from './errors.js';

/** Host every local component binds to. */
export const LOOPBACK = '127.0.0.1';

/** Tries to bind `port` on 127.0.0.1; resolves the OS-chosen port (for 0) or rejects with the bind error. */
function bind(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port, host: LOOPBACK, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : port;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * Where {@link freePorts} looks first: ports the kernel never hands out by itself. Connecting sockets
 * take their source port, and `bind(0)` its port, from the ephemeral range (Linux default
 * 32768–60999); a port picked there and released can be taken by any outgoing connection on the host
 * in the seconds before its component binds it (a CI run lost a sidecar's port that way while other
 * tests ran load). 30000–32767 is Kubernetes' NodePort range, which kube-proxy may DNAT on this host.
 */
export const QUIET_PORTS = { from: 20000, to: 29999 } as const;

/** The kernel's ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`), or null where unreadable. */
async function ephemeralRange(): Promise<{ from: number; to: number } | null> {
  try {
    const [from, to] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
    return Number.isInteger(from) && Number.isInteger(to) ? { from: from!, to: to! } : null;
  } catch {
    return null;
  }
}

/** A free TCP port on 127.0.0.1 (see {@link freePorts}; released before return). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `count` distinct free ports on 127.0.0.1, released before return. Picked at random in
 * {@link QUIET_PORTS} below the kernel's ephemeral range, so no outgoing connection or `bind(0)` on the
 * host can take one before its component binds it; where that range is empty (an ephemeral range
 * starting below 20000) or full, the OS picks. Another program choosing ports the same way can still
 * win a race for one; the supervisor reports that as a busy port and {@link retryOnBusyPort} starts again.
 */
export async function freePorts(count: number): Promise<number[]> {
  const eph = await ephemeralRange();
  const to = Math.min(QUIET_PORTS.to, (eph?.from ?? 32768) - 1);
  const seen = new Set<number>();
  for (let tries = 0; seen.size < count && to >= QUIET_PORTS.from && tries < 20 * count; tries++) {
    const port = randomInt(QUIET_PORTS.from, to + 1);
    if (seen.has(port)) continue;
    if (
      await bind(port).then(
        () => true,
        () => false,
      )
    )
      seen.add(port);
  }
  while (seen.size < count) seen.add(await bind(0));
  return [...seen];
}

/**
 * Runs `start` (which picks its ports afresh on every call) again when it fails with `ERR_PORT_BUSY`
 * — a port taken by another program between being picked and being bound — at most `attempts` times in
 * all; any other error, or an abort, is thrown at once.
 */
export async function retryOnBusyPort<T>(
  start: () => Promise<T>,
  opts: { attempts?: number; signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      const busy = err instanceof PlatformError && err.code === 'ERR_PORT_BUSY';
      if (!busy || attempt >= attempts || opts.signal?.aborted) throw err;
      opts.log?.(
        `${(err as Error).message.split(';')[0]} (taken by another program after it was picked); starting again on other ports (attempt ${attempt + 1} of ${attempts})`,
      );
    }
  }
}

/** Throws `ERR_PORT_BUSY` naming the first port of `ports` that cannot be bound on 127.0.0.1. */
export async function assertPortsFree(ports: readonly number[], hint: string): Promise<void> {
  for (const port of ports) {
    try {
      await bind(port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw new PlatformError(
          'ERR_PORT_BUSY',
          `port ${port} on ${LOOPBACK} is ${code === 'EACCES' ? 'not allowed' : 'already in use'}; ${hint}`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}
