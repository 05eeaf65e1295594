import type { Server } from 'node:http';

/**
 * For the benches' reference servers (system/*\/bench): keep-alive as the components have it, listen on a
 * free port of 127.0.0.1, print `{"event":"listening","url":...}` (what `spawnListening` waits for),
 * and on SIGTERM close the server and its connections, run `onStop`, and exit 0.
 */
export function announceListening(server: Server, onStop: () => unknown = () => {}): void {
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    process.stdout.write(`${JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}` })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void Promise.resolve(onStop()).finally(() => process.exit(0));
  });
}
