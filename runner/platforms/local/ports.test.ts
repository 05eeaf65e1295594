import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PlatformError } from './errors.js';
import { freePorts, LOOPBACK, QUIET_PORTS, retryOnBusyPort } from './ports.js';

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port, host: LOOPBACK, exclusive: true }, () => resolve(srv));
  });

describe('freePorts', () => {
  it('picks distinct ports that bind, outside the range the kernel hands to outgoing connections', async () => {
    const ports = await freePorts(12);
    expect(new Set(ports).size).toBe(12);
    const [ephFrom] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    for (const p of ports) {
      if (ephFrom! > QUIET_PORTS.to) {
        expect(p).toBeGreaterThanOrEqual(QUIET_PORTS.from);
        expect(p).toBeLessThanOrEqual(QUIET_PORTS.to);
      }
      expect(p).toBeLessThan(ephFrom!);
    }
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
});

describe('retryOnBusyPort', () => {
  const busy = () => new PlatformError('ERR_PORT_BUSY', 'p1-b could not listen: its port is already in use; free it');

  it('starts again after a busy port and says so, then returns what the start returned', async () => {
    const lines: string[] = [];
    let calls = 0;
    const got = await retryOnBusyPort(
      async () => {
        calls++;
        if (calls < 3) throw busy();
        return 'up';
      },
      { log: (l) => lines.push(l) },
    );
    expect(got).toBe('up');
    expect(calls).toBe(3);
    expect(lines).toEqual([
      'p1-b could not listen: its port is already in use (taken by another program after it was picked); starting again on other ports (attempt 2 of 3)',
      'p1-b could not listen: its port is already in use (taken by another program after it was picked); starting again on other ports (attempt 3 of 3)',
    ]);
  });

  it('gives up after its attempts, and never retries another error or an aborted start', async () => {
    let calls = 0;
    await expect(
      retryOnBusyPort(async () => {
        calls++;
        throw busy();
      }),
    ).rejects.toMatchObject({ code: 'ERR_PORT_BUSY' });
    expect(calls).toBe(3);

    calls = 0;
    await expect(
      retryOnBusyPort(async () => {
        calls++;
        throw new PlatformError('ERR_POSTGRES', 'initdb failed');
      }),
    ).rejects.toMatchObject({ code: 'ERR_POSTGRES' });
    expect(calls).toBe(1);

    calls = 0;
    const ac = new AbortController();
    ac.abort();
    await expect(
      retryOnBusyPort(
        async () => {
          calls++;
          throw busy();
        },
        { signal: ac.signal },
      ),
    ).rejects.toMatchObject({ code: 'ERR_PORT_BUSY' });
    expect(calls).toBe(1);
  });
});
