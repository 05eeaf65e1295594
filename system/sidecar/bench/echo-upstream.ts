import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in upstream for the forwarder tests: records each request it sees and echoes its JSON body. */
export interface EchoUpstream {
  url: string;
  /** `METHOD /path body` of every request, in arrival order. */
  seen: string[];
  /** How many connections it has accepted. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * Starts an {@link EchoUpstream} on 127.0.0.1 (a port the OS picks, or `opts.port`); it answers 201
 * `{"echo":<body>}` and closes a keep-alive connection idle for `opts.keepAliveTimeout` ms (node:http's 5 s).
 */
export async function startEchoUpstream(opts: { port?: number; keepAliveTimeout?: number } = {}): Promise<EchoUpstream> {
  const seen: string[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      res.writeHead(201, { 'content-type': 'application/json' }).end(`{"echo":${body}}`);
    });
  });
  if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
