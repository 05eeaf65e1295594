/**
 * The IdP's Go token plane (dataplane/cmd/tokenplane, docs/ARCHITECTURE.md "The IdP's Go token plane"):
 * started by the IdP as its child, it answers the token exchanges it can prove the IdP would grant and
 * forwards every other request to the IdP unchanged. The IdP pushes it what it decides with — issuer,
 * signing key, grants, token lifetime, revision, the trusted issuers' keys — on every change, and reads
 * back what it issued into its own metrics and token ledger.
 */
import { randomBytes } from 'node:crypto';
import { LATENCY_BUCKETS_SECONDS } from '../protocol/metrics.js';
import { newestStatePush, startSupervisedChild, type SupervisedChild } from '../runtime/supervised-child.js';
import type { IdpMetrics } from './metrics.js';
import type { TokenPlaneTrust } from './subject-verifier.js';
import type { IssuedToken, TokenLedger } from './token-ledger.js';

/** What the IdP pushes: everything an exchange is decided with. */
export interface TokenPlaneState {
  issuer: string;
  revision: number;
  ttlSeconds: number;
  signingKey: { kid: string; d: string; x: string; y: string };
  /** Caller → its grants, in the permissions store's order: [target, roles]. */
  grants: Record<string, [string, readonly string[]][]>;
  /** null: it verifies no subject token itself (every exchange is forwarded). */
  trust: TokenPlaneTrust | null;
}

export interface TokenPlaneOptions {
  binary: string;
  /** The IdP's own base URL: where every request the token plane does not answer goes. */
  nodeUrl: string;
  host?: string;
  port?: number;
  /** The state to push, read at each push (so a push always carries the newest). */
  state: () => TokenPlaneState;
  metrics: IdpMetrics;
  tokens: TokenLedger;
  log: (msg: string) => void;
}

export interface TokenPlane {
  /** Its base URL: `POST <url>/oauth2/token` (the same after a restart). */
  readonly url: string;
  readonly pid: number | undefined;
  running(): boolean;
  restarts(): number;
  /** What its processes answered themselves (`issued`) and forwarded to the IdP, as of the last `read()`. */
  counts(): { issued: number; forwarded: number };
  /** Pushes `state()` now, or after the push in flight; resolves once a push of the newest state is done. */
  sync(): Promise<void>;
  /** Resolves once no push is in flight (an admin change's answer waits for it: then the plane decides with it). */
  settled(): Promise<void>;
  /** Adds what the token plane issued since the last read to the IdP's metrics and token ledger. */
  read(): Promise<void>;
  stop(): Promise<void>;
}

interface Report {
  issued: { buckets: number[]; sum: number; count: number };
  forwarded: number;
  /** Bodies over the IdP's 64 KiB, refused by the token plane with the IdP's answer. */
  tooLarge: number;
  ledger: IssuedToken[];
}

/** Starts the token plane, pushes the state once, and resolves when it holds it; supervised from then on. */
export async function startTokenPlane(opts: TokenPlaneOptions): Promise<TokenPlane> {
  const secret = randomBytes(24).toString('base64url');
  const headers = { authorization: `Bearer ${secret}` };
  let supervised: SupervisedChild | undefined;
  // The cumulative histogram last read (a restarted process counts from zero).
  let last = { buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
  let lastForwarded = 0;
  let lastTooLarge = 0;
  const counts = { issued: 0, forwarded: 0 };

  const pushOnce = async (control: string): Promise<void> => {
    const res = await fetch(`${control}/state`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(opts.state()),
      signal: AbortSignal.timeout(5000),
    });
    if (res.status !== 204) throw new Error(`the token plane refused its state: ${res.status} ${await res.text()}`);
  };
  const pushes = newestStatePush(pushOnce, () => supervised!.control());

  supervised = await startSupervisedChild({
    name: 'token plane',
    binary: opts.binary,
    env: {
      AUTHLAB_TOKENPLANE_SECRET: secret,
      NODE_URL: opts.nodeUrl,
      BUCKETS: JSON.stringify(LATENCY_BUCKETS_SECONDS),
      // One P, as the IdP has one event loop.
      GOMAXPROCS: process.env.GOMAXPROCS ?? '1',
    },
    host: opts.host,
    port: opts.port,
    prime: pushes.prime,
    onReplaced: () => {
      last = { buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
      lastForwarded = 0;
      lastTooLarge = 0;
    },
    log: opts.log,
  });
  const sup = supervised;
  return {
    url: sup.url,
    get pid() {
      return sup.pid;
    },
    running: () => sup.up(),
    restarts: () => sup.restarts(),
    counts: () => ({ ...counts }),
    sync: () =>
      pushes.sync().catch((err: unknown) => {
        opts.log(`could not push its state to the token plane: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }),
    settled: pushes.settled,
    async read() {
      if (!sup.up()) return; // what the exited one issued since the last read is lost with it
      const gen = sup.generation();
      const res = await fetch(`${sup.control()}/report`, { method: 'POST', headers, signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`the token plane's report answered ${res.status}`);
      const r = (await res.json()) as Report;
      // Tokens it issued are the services' whichever process issued them; its counts are since its start.
      for (const t of r.ledger) opts.tokens.record(t);
      // A report older than the one already applied (two reads at once) adds nothing.
      if (gen !== sup.generation() || r.issued.count < last.count || r.forwarded < lastForwarded || r.tooLarge < lastTooLarge) return;
      const count = r.issued.count - last.count;
      if (count > 0) {
        const buckets = r.issued.buckets.map((b, i) => b - last.buckets[i]!);
        opts.metrics.addExchanged('issued', buckets, r.issued.sum - last.sum, count);
        counts.issued += count;
      }
      counts.forwarded += r.forwarded - lastForwarded;
      // Counted as the IdP counts its own refusal of such a body (routes/token-exchange.ts `refuse`).
      if (r.tooLarge > lastTooLarge) opts.metrics.tokenResult.inc({ result: 'invalid_request' }, r.tooLarge - lastTooLarge);
      last = r.issued;
      lastForwarded = r.forwarded;
      lastTooLarge = r.tooLarge;
    },
    stop: () => sup.stop(),
  };
}
