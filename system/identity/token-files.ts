import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdentityIssuer } from './issuer.js';

export interface ServiceIdentity {
  namespace: string;
  serviceAccount: string;
}

export interface TokenFileWriterOptions {
  issuer: IdentityIssuer;
  /** Root directory; each service's token goes to `<tokenDir>/<namespace>/token`. */
  tokenDir: string;
  services: ServiceIdentity[];
  /** Lifetime of written tokens, seconds. Default: the issuer's. */
  ttlSeconds?: number;
  /** Fraction of the TTL after which a file is rewritten. Default 0.8, as the kubelet does. */
  refreshFraction?: number;
  /** Called when a rewrite fails (the next attempt is scheduled anyway). */
  onError?: (err: Error) => void;
}

export interface TokenFileWriter {
  /** Path of a service's token file. */
  pathFor(namespace: string): string;
  /** Writes every file now (the first call is awaited before announcing readiness). */
  writeAll(): Promise<void>;
  /** Stops rewriting; files stay on disk. */
  stop(): void;
}

/**
 * Writes one projected-token file per service and rewrites it at 80% of its TTL, like the kubelet.
 * Writes are atomic (temp file + rename) so a reader never sees a half-written token.
 */
export function createTokenFileWriter(opts: TokenFileWriterOptions): TokenFileWriter {
  const ttlSeconds = opts.ttlSeconds ?? opts.issuer.ttlSeconds;
  const fraction = opts.refreshFraction ?? 0.8;
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  const pathFor = (ns: string) => join(opts.tokenDir, ns, 'token');

  async function writeOne(svc: ServiceIdentity): Promise<void> {
    const token = opts.issuer.mint({ namespace: svc.namespace, serviceAccount: svc.serviceAccount, ttlSeconds });
    const dir = join(opts.tokenDir, svc.namespace);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.token.${process.pid}.${Date.now()}.tmp`);
    await writeFile(tmp, token, { mode: 0o600 });
    await rename(tmp, pathFor(svc.namespace));
  }

  function schedule(svc: ServiceIdentity): void {
    if (stopped) return;
    const t = setTimeout(
      () => {
        writeOne(svc)
          .catch((err: unknown) => opts.onError?.(err instanceof Error ? err : new Error(String(err))))
          .finally(() => schedule(svc));
      },
      ttlSeconds * fraction * 1000,
    );
    t.unref();
    timers.set(svc.namespace, t);
  }

  return {
    pathFor,
    async writeAll() {
      for (const t of timers.values()) clearTimeout(t);
      await Promise.all(opts.services.map(writeOne));
      for (const svc of opts.services) schedule(svc);
    },
    stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
