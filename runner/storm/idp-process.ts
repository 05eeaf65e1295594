import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ListeningLine } from '../../system/protocol/endpoints.js';

/** Repository root (this file is runner/storm/idp-process.ts). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A running IdP child process (`system/idp/main.ts`). */
export interface IdpProcess {
  /** Base URL from its listening line, e.g. `http://127.0.0.1:41234`. */
  url: string;
  pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; removes the config directory; idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartIdpOptions {
  /** Written verbatim as the IdP's `--config` file (`IdpConfig` of system/idp/config.ts). */
  config: Record<string, unknown>;
  /** Milliseconds to wait for the listening line. Default 30,000. */
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Starts the real IdP as a child process (`node --import tsx system/idp/main.ts --config <file>`)
 * and resolves with its URL once it prints `{"event":"listening","service":"idp",...}`. A child
 * process, not an in-process app, so the IdP's CPU is its own and the harness's event loop (10,000
 * token sources) cannot slow the server being measured.
 */
export async function startIdpProcess(opts: StartIdpOptions): Promise<IdpProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'authlab-storm-idp-'));
  const configPath = join(dir, 'idp.json');
  await writeFile(configPath, JSON.stringify(opts.config, null, 2), { mode: 0o600 });

  const child = spawn(process.execPath, ['--import', 'tsx', 'system/idp/main.ts', '--config', configPath], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  // If the harness dies without tearing down, the IdP must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 50) stderr.shift();
  });

  let exited = false;
  const exitPromise = new Promise<void>((res) => child.once('exit', () => ((exited = true), res())));

  const stop = async (graceMs = 5000) => {
    process.removeListener('exit', killOnExit);
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitPromise;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const url = await waitForListening(child, opts.startTimeoutMs ?? 30_000, () => stderr.join(''));
    opts.log?.(`idp: listening on ${url} (pid ${child.pid})`);
    return { url, pid: child.pid ?? -1, stop };
  } catch (err) {
    await stop(1000);
    throw err;
  }
}

function waitForListening(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      done();
      reject(new Error(`IdP did not print its listening line within ${timeoutMs} ms; stderr:\n${stderr()}`));
    }, timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`IdP exited before listening (code ${code}, signal ${signal}); stderr:\n${stderr()}`));
    };
    const done = () => {
      clearTimeout(timer);
      child.removeListener('exit', onExit);
    };
    child.once('exit', onExit);
    lines.on('line', (line) => {
      let parsed: Partial<ListeningLine>;
      try {
        parsed = JSON.parse(line) as Partial<ListeningLine>;
      } catch {
        return; // plain log output
      }
      if (parsed.event === 'listening' && parsed.service === 'idp' && typeof parsed.url === 'string') {
        done();
        resolvePromise(parsed.url);
      }
    });
  });
}
