import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { createClient } from 'redis';
import { PlatformError } from './errors.js';
import { withParentDeathSignal } from './lifeline.js';
import { stopProcess } from './child.js';
import { LOOPBACK } from './ports.js';

/** One service's Redis identity: an ACL user that may touch only keys under `prefix`. */
export interface RedisUser {
  url: string;
  prefix: string;
}

/** A Redis server the local platform started for the query cache. */
export interface LocalRedis {
  readonly pid: number;
  readonly port: number;
  /** Per service name: its ACL user's URL and key prefix. */
  readonly users: ReadonlyMap<string, RedisUser>;
  stop(): Promise<void>;
}

/** Debian's `redis-server` on PATH (or in /usr/bin), or null. */
export function findRedisServer(): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin']) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'redis-server'), constants.X_OK);
      return join(dir, 'redis-server');
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Starts `redis-server` on 127.0.0.1:`port` with its data in `dir` (no persistence) and one ACL user
 * per service: `~<service>:*` keys only, and only the commands the query cache sends (the default
 * user is off, so nothing connects without a service's password). Resolves once it answers PING.
 *
 * @throws PlatformError ERR_TOOL_MISSING (exit 2) when redis-server is not installed.
 */
export async function startRedis(o: { dir: string; port: number; services: readonly string[]; timeoutMs?: number }): Promise<LocalRedis> {
  const bin = findRedisServer();
  if (bin === null) {
    throw new PlatformError(
      'ERR_TOOL_MISSING',
      'redis-server is not installed; the heavy-cached scenario needs it: apt-get install redis-server (Debian), then run again',
    );
  }
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const users = new Map<string, RedisUser>();
  const lines = [
    `bind ${LOOPBACK}`,
    `port ${o.port}`,
    `dir ${o.dir}`,
    'save ""',
    'appendonly no',
    'daemonize no',
    'protected-mode yes',
    'logfile ""',
    'user default off',
  ];
  for (const s of o.services) {
    if (!/^[a-z0-9-]+$/.test(s)) throw new RangeError(`invalid service name for a Redis user: ${s}`);
    const password = randomBytes(18).toString('hex');
    const prefix = `${s}:`;
    // Keys under its own prefix only; the commands withQueryCache sends (HGET, HSET, EXPIRE, DEL in
    // MULTI/EXEC) plus the connection's own (AUTH, HELLO, PING, QUIT).
    lines.push(`user ${s} on >${password} resetkeys ~${prefix}* resetchannels -@all +@connection +hget +hset +expire +del +multi +exec`);
    users.set(s, { url: `redis://${s}:${password}@${LOOPBACK}:${o.port}`, prefix });
  }
  const conf = join(o.dir, 'redis.conf');
  await writeFile(conf, lines.join('\n') + '\n', { mode: 0o600 });
  const cmd = withParentDeathSignal(bin, [conf], 'TERM');
  const child: ChildProcess = spawn(cmd.cmd, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  const stop = () => stopProcess(child, { signal: 'SIGTERM', graceMs: 5_000 }).then(() => {});
  const first = users.values().next().value;
  const deadline = Date.now() + (o.timeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new PlatformError('ERR_REDIS', `redis-server exited during start-up: ${output.trim().slice(-400)}`);
    }
    if (first === undefined) break;
    if (await redisAnswers(first.url)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new PlatformError(
        'ERR_REDIS',
        `redis-server on port ${o.port} did not answer within the start-up timeout: ${output.trim().slice(-400)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid ?? -1, port: o.port, users, stop };
}

/**
 * One start-up probe: connects once (no reconnect) and PINGs. Resolves false, never throws, when
 * redis-server is not listening yet. (Closing a client whose connect had failed threw "The client is
 * closed" and failed the whole `study --scenarios heavy-cached` whenever the first probe came too early.)
 */
export async function redisAnswers(url: string): Promise<boolean> {
  const c = createClient({ url, disableClientInfo: true, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    if (c.isOpen) c.destroy();
  }
}
