import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in upstream for the forwarder tests: records each request it sees and echoes its JSON body. */
export interface EchoUpstream {
  url: string;
  /** `METHOD /path body` of every request, in arrival order. */
  seen: string[];
  close(): Promise<void>;
}

/** Starts an {@link EchoUpstream} on 127.0.0.1 (a port the OS picks); it answers 201 `{"echo":<body>}`. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      res.writeHead(201, { 'content-type': 'application/json' }).end(`{"echo":${body}}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
