import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * The null endpoint's program: node:http answering every request with 200 `{"rows":[]}` once its
 * body is read, on 127.0.0.1 and a free port, which it prints as its first line. Plain JavaScript so
 * it starts in plain Node, without a TypeScript loader.
 */
const SOURCE = `
const server = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' });
    res.end('{"rows":[]}');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
`;

export interface NullEndpoint {
  /** `http://127.0.0.1:<port>/query` */
  url: string;
  pid: number;
  /** Stops the process by its pid and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts a null endpoint (no work, a tiny answer) in a process of its own, so that what it costs is
 * not on the load generator's or the orchestrator's event loop. It exits with its parent (IPC channel).
 */
export async function startNullEndpoint(): Promise<NullEndpoint> {
  const child = spawn(process.execPath, ['-e', SOURCE], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  const port = await Promise.race([
    once(lines, 'line').then(([line]) => Number(line)),
    exited.then(([code]) => Promise.reject(new Error(`the null endpoint exited (code ${code}) before listening`))),
  ]);
  lines.close();
  child.channel?.unref();
  child.unref();
  return {
    url: `http://127.0.0.1:${port}/query`,
    pid: child.pid as number,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.ref(); // unreferenced while serving: without this, its exit might never be seen
      child.kill('SIGTERM');
      await exited;
    },
  };
}
