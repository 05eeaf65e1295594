import type { ListeningLine } from '../protocol/endpoints.js';
import { configPathFromArgv } from '../runtime/config-file.js';
import { loadIdentityConfig } from './config.js';
import { createIdentityIssuer, type IdentityIssuer } from './issuer.js';
import { buildIdentityServer } from './server.js';
import { createTokenFileWriter } from './token-files.js';

// Reads config, listens, writes the first token files, then announces itself on stdout.
async function main(): Promise<void> {
  const config = await loadIdentityConfig(configPathFromArgv(process.argv, 'system/identity/main.ts'));
  let issuer: IdentityIssuer | undefined;
  const app = buildIdentityServer({
    issuer: () => {
      if (!issuer) throw new Error('identity issuer not ready yet');
      return issuer;
    },
  });
  const url = await app.listen({ host: config.host ?? '127.0.0.1', port: config.port ?? 0 });
  issuer = createIdentityIssuer({
    issuer: config.issuer ?? url,
    audience: config.audience,
    ttlSeconds: config.tokenTtlSeconds ?? 3600,
  });
  const writer = createTokenFileWriter({
    issuer,
    tokenDir: config.tokenDir,
    services: config.services,
    onError: (err) => process.stderr.write(`identity: token rewrite failed: ${err.message}\n`),
  });
  await writer.writeAll();
  const line: ListeningLine = { event: 'listening', service: 'identity', url };
  process.stdout.write(`${JSON.stringify(line)}\n`);

  const shutdown = () => {
    writer.stop();
    app.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`identity: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
