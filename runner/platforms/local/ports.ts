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

/** A free TCP port on 127.0.0.1 (the OS picks it; released before return). */
export function freePort(): Promise<number> {
  return bind(0);
}

/**
 * `count` distinct free ports. They are released before return, so a component binding one later can
 * still lose a race with another program; the supervisor reports that as a busy port.
 */
export async function freePorts(count: number): Promise<number[]> {
  const seen = new Set<number>();
  while (seen.size < count) seen.add(await freePort());
  return [...seen];
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
