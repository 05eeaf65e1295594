/**
 * A closed loop that takes turns: several servers each get their own keep-alive connections, opened
 * once, and only one server is loaded at a time, for one slice of a fraction of a second. A slice sends
 * on each of the server's connections, sends again on every response until the slice's time is up, then
 * waits for the answers in flight (so the next slice starts on an idle server), and reports the
 * responses, the time from the first send to the last answer, and the server's CPU over that time
 * (schedstat, all threads). Raw `net` sockets and one pre-built request per server, so the client costs
 * little beside the servers it saturates (the same way as the floor's minimal client).
 *
 * Why: on a shared host the speed of a core drifts by a third between runs minutes apart; contenders
 * measured in alternating slices a fraction of a second long see the same host state, without sharing a
 * core at the same moment (which biases each one's cost by the others' — the concurrent design tried
 * on 2026-12-02, docs/ARCHITECTURE.md).
 */
import { connect, type Socket } from 'node:net';
import { cpuSecondsOfAll } from './stack.js';

export interface SliceTarget {
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** The server's processes (a sidecar pair: both): their CPU over each slice is read from /proc, summed. */
  pids: readonly number[];
}

export interface SliceResult {
  /** 2xx answers within the slice. */
  responses: number;
  /** Answers that were not 2xx. */
  errors: number;
  /** First send to last answer. */
  seconds: number;
  /** The servers' CPU over the slice; undefined when /proc could not be read. */
  cpuSeconds: number | undefined;
  /**
   * The servers' CPU from the end of this target's previous slice to the start of this one, while
   * other targets were loaded: its garbage collection finishing, its timers. Undefined for its first
   * slice or when /proc could not be read.
   */
  betweenCpuSeconds: number | undefined;
}

interface Connection {
  socket: Socket;
  pending: Buffer;
  /** Called with the status class digit when a whole response has arrived. */
  onResponse: ((ok: boolean) => void) | null;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * Where the response whose head ends at `head` ends: after Content-Length bytes, or after the last
 * chunk of a chunked body (node:http answers `writeHead(...).end(body)` chunked).
 */
export function messageEnd(buf: Buffer, head: number): number | 'incomplete' | 'unframed' {
  const headers = buf.subarray(0, head).toString('latin1');
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
  if (length !== null) {
    const end = head + 4 + Number(length[1]);
    return buf.length < end ? 'incomplete' : end;
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(headers)) return 'unframed';
  let at = head + 4;
  for (;;) {
    const line = buf.indexOf('\r\n', at);
    if (line < 0) return 'incomplete';
    const size = parseInt(buf.subarray(at, line).toString('latin1'), 16);
    if (Number.isNaN(size)) return 'unframed';
    // chunk data and its CRLF; the last (size 0) chunk ends the body after an empty trailer line
    const next = line + 2 + size + 2;
    if (buf.length < next) return 'incomplete';
    if (size === 0) return next;
    at = next;
  }
}

/** One keep-alive connection; after it is open, `fail` hears of its errors and of its closing. */
function open(url: URL, fail: (err: Error) => void): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const conn: Connection = { socket, pending: Buffer.alloc(0), onResponse: null };
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', fail);
      socket.on('close', () => fail(new Error(`${url.host} closed a connection during the bench`)));
      resolve(conn);
    });
    socket.on('data', (chunk: Buffer) => {
      conn.pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
      for (;;) {
        const head = conn.pending.indexOf(HEAD_END);
        if (head < 0) return;
        const end = messageEnd(conn.pending, head);
        if (end === 'unframed') {
          socket.destroy(
            new Error(
              `${url.host} answered without Content-Length or chunked framing: ${conn.pending.subarray(0, head).toString('latin1')}`,
            ),
          );
          return;
        }
        if (end === 'incomplete') return;
        const ok = conn.pending[9] === 0x32; // 'HTTP/1.1 2xx'
        conn.pending = conn.pending.subarray(end);
        const done = conn.onResponse;
        conn.onResponse = null;
        done?.(ok);
      }
    });
  });
}

export interface SlicedLoad {
  /**
   * Loads target `index` alone for `ms` (then drains it); throws when a connection failed.
   * `latencyUs`, when given, hears each 2xx answer's time from send to its last byte, µs.
   */
  slice(index: number, ms: number, latencyUs?: (us: number) => void): Promise<SliceResult>;
  /** Replaces target `index`'s extra headers from its next slice on (a renewed bearer token). */
  setHeaders(index: number, headers: Record<string, string>): void;
  /** Target `index` as its next slice sends it (headers as last set). */
  target(index: number): SliceTarget;
  close(): void;
}

/** The one request a target's connections send, bytes ready for the socket. */
function requestOf(t: SliceTarget): Buffer {
  const url = new URL(t.url);
  const headers = { 'content-type': 'application/json', ...t.headers };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return Buffer.from(
    `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n${lines.join('')}Content-Length: ${Buffer.byteLength(t.body)}\r\n\r\n${t.body}`,
  );
}

/** Opens `connections` keep-alive connections to every target. */
export async function openSlicedLoad(targets: readonly SliceTarget[], connections: number): Promise<SlicedLoad> {
  const all: Connection[][] = [];
  let failure: Error | undefined;
  try {
    for (const t of targets) {
      const url = new URL(t.url);
      const conns: Connection[] = [];
      all.push(conns);
      for (let i = 0; i < connections; i++) conns.push(await open(url, (e) => (failure ??= e)));
    }
  } catch (err) {
    for (const c of all.flat()) c.socket.destroy();
    throw err;
  }
  // The targets as they are sent now: setHeaders replaces an entry, the caller's array stays as given.
  const current = [...targets];
  const requests = current.map(requestOf);
  let closing = false;
  /** Each target's CPU when its last slice ended (null: unreadable; undefined: no slice yet). */
  const lastCpu: (number | null | undefined)[] = targets.map(() => undefined);
  return {
    async slice(index, ms, latencyUs) {
      if (failure) throw failure;
      const target = current[index]!;
      const conns = all[index]!;
      const request = requests[index]!;
      const cpu0 = await cpuSecondsOfAll(target.pids);
      const previousEnd = lastCpu[index];
      let responses = 0;
      let errors = 0;
      const t0 = performance.now();
      const until = t0 + ms;
      let last = t0;
      await new Promise<void>((resolve, reject) => {
        let active = conns.length;
        const check = setInterval(() => {
          if (failure) {
            clearInterval(check);
            reject(failure);
          }
        }, 50);
        const send = (c: Connection): void => {
          const sentAt = performance.now();
          c.onResponse = (ok) => {
            last = performance.now();
            if (ok) {
              responses++;
              latencyUs?.((last - sentAt) * 1000);
            } else errors++;
            if (last < until) send(c);
            else if (--active === 0) {
              clearInterval(check);
              resolve();
            }
          };
          c.socket.write(request);
        };
        for (const c of conns) send(c);
      });
      const cpu1 = await cpuSecondsOfAll(target.pids);
      lastCpu[index] = cpu1;
      return {
        responses,
        errors,
        seconds: (last - t0) / 1000,
        cpuSeconds: cpu0 === null || cpu1 === null ? undefined : cpu1 - cpu0,
        betweenCpuSeconds: cpu0 === null || previousEnd == null ? undefined : cpu0 - previousEnd,
      };
    },
    setHeaders(index, headers) {
      const target = current[index];
      if (target === undefined) throw new RangeError(`no target ${index}: the load has ${current.length}`);
      current[index] = { ...target, headers };
      requests[index] = requestOf(current[index]);
    },
    target(index) {
      const target = current[index];
      if (target === undefined) throw new RangeError(`no target ${index}: the load has ${current.length}`);
      return target;
    },
    close() {
      if (closing) return;
      closing = true;
      failure ??= new Error('the sliced load is closed');
      for (const c of all.flat()) c.socket.destroy();
    },
  };
}

/**
 * Throws when a round had non-2xx answers (`errors[i]` for `targets[i]`, named `names[i]`): a refusing
 * or failing server would read as a slow one in that round's ratios. The message carries one request
 * to each such target made by hand: its status and the start of its body.
 */
export async function stopOnFailedRound(
  round: number,
  names: readonly string[],
  targets: readonly SliceTarget[],
  errors: readonly number[],
): Promise<void> {
  const failing = names.flatMap((name, i) => (errors[i]! > 0 ? [i] : []));
  if (failing.length === 0) return;
  const why = await Promise.all(
    failing.map(async (i) => `${names[i]} answered ${errors[i]} requests with a non-2xx status (${await byHand(targets[i]!)})`),
  );
  throw new Error(`round ${round}: ${why.join('; ')}; its figures would be wrong, so the bench stops`);
}

async function byHand(t: SliceTarget): Promise<string> {
  try {
    const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, body: t.body });
    return `e.g. ${res.status} ${(await res.text()).slice(0, 300)}`;
  } catch (err) {
    return `a request by hand failed too: ${(err as Error).message}`;
  }
}
