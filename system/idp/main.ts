import type { ListeningLine } from '../protocol/endpoints.js';
import { buildIdp } from './app.js';
import { configPathFromArgv } from '../runtime/config-file.js';
import { loadIdpConfig } from './config.js';
import { verifierFor } from './verifier-config.js';

// Reads config, builds the IdP, listens, announces itself on stdout; SIGTERM/SIGINT → close, exit 0.
async function main(): Promise<void> {
  const config = await loadIdpConfig(configPathFromArgv(process.argv, 'system/idp/main.ts'));
  const idp = await buildIdp({
    issuer: config.issuer,
    databaseUrl: config.databaseUrl,
    adminToken: config.adminToken,
    verifier: await verifierFor(config.trustedIssuers, config.subjectTokenCacheSize),
    tokenTtlSeconds: config.tokenTtlSeconds,
    initialSettings: config.initialSettings,
    keyRotationIntervalSeconds: config.keyRotationIntervalSeconds,
    subjectTokenCacheSize: config.subjectTokenCacheSize,
    postgresStats: config.postgresStats,
    tokenPlane: config.tokenPlane,
  });
  const url = await idp.listen({ host: config.host, port: config.port });
  const line: ListeningLine = { event: 'listening', service: 'idp', url };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    idp.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`idp: error while closing: ${(err as Error).message}\n`);
        process.exit(0);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`idp: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
