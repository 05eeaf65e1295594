import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AuthlabError } from '../../system/protocol/errors.js';
import { serviceMetrics, type ServiceMetrics } from './service-metrics.js';
import type { StudyRequest, StudyRunner } from './study-runner.js';

export interface AdminConsoleOptions {
  /** The IdP the page and the admin API live on. */
  idpUrl: string;
  /** Sidecars whose /metrics the page shows. */
  services: readonly { name: string; url: string }[];
  /** Runs studies on the platform; without it the page shows no study form. */
  studies?: StudyRunner;
  /** Default 127.0.0.1, port 0 (a free port). */
  host?: string;
  port?: number;
}

export interface AdminConsole {
  /** Where to open the page: `<url>/admin/ui`. */
  readonly url: string;
  /** Aborts a running study, closes the server. */
  close(): Promise<void>;
}

interface StudyJob {
  state: 'running' | 'done' | 'failed';
  request: StudyRequest;
  startedAt: string;
  finishedAt?: string;
  phase: string;
  trial?: { i: number; n: number };
  log: string[];
  error?: string;
  id?: string;
  reportUrl?: string;
}

const PLATFORM = '/admin/ui/platform';
const MAX_BODY = 16 * 1024;

/**
 * The admin page as `authlab up` serves it (issue 16): one loopback origin that forwards
 * the IdP's `/admin/ui` (page, session, admin API gateway: the IdP keeps doing all the checking), and
 * answers `/admin/ui/platform/*` itself, which only the process holding the platform can: per-sidecar
 * metrics and starting a study on the running platform. Those calls are admitted with the IdP session:
 * the console asks the IdP who the cookie belongs to, and a change must carry that session's CSRF token
 * and come from this origin.
 */
export async function startAdminConsole(opts: AdminConsoleOptions): Promise<AdminConsole> {
  const idp = new URL(opts.idpUrl);
  let job: StudyJob | undefined;
  const abort = new AbortController();
  const reports = new Map<string, string>();

  async function sessionOf(req: IncomingMessage): Promise<{ csrf: string } | undefined> {
    const res = await fetch(new URL('/admin/ui/session', idp), { headers: { cookie: req.headers.cookie ?? '' } });
    const body = (await res.json()) as { signedIn?: boolean; csrf?: string };
    return body.signedIn && body.csrf ? { csrf: body.csrf } : undefined;
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(JSON.stringify(body));
  }
  const fail = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });

  async function readJson(req: IncomingMessage): Promise<unknown> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new AuthlabError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY) throw new AuthlabError('ERR_BODY_TOO_LARGE', `body over ${MAX_BODY} bytes`);
      chunks.push(c);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      throw new AuthlabError('ERR_BAD_REQUEST', 'body is not JSON');
    }
  }

  function parseStudyRequest(raw: unknown): StudyRequest {
    const o = (raw ?? {}) as Record<string, unknown>;
    const bad = (m: string) => new AuthlabError('ERR_BAD_REQUEST', m);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw bad('body must be a JSON object like {"scenarios": ["light"], "quick": true}');
    const extra = Object.keys(o).filter((k) => !['scenarios', 'trials', 'quick'].includes(k));
    if (extra.length) throw bad(`unknown field ${JSON.stringify(extra[0])}; allowed: scenarios, trials, quick`);
    const scenarios = o.scenarios ?? [];
    if (!Array.isArray(scenarios) || !scenarios.every((s) => typeof s === 'string' && /^[a-z0-9-]{1,64}$/.test(s))) {
      throw bad(`"scenarios" must be an array of scenario names like ["light", "heavy"] (got ${JSON.stringify(o.scenarios)})`);
    }
    if (o.trials !== undefined && (!Number.isInteger(o.trials) || (o.trials as number) < 1 || (o.trials as number) > 1000)) {
      throw bad(`"trials" must be an integer 1..1000 (got ${JSON.stringify(o.trials)})`);
    }
    if (o.quick !== undefined && typeof o.quick !== 'boolean') throw bad(`"quick" must be true or false (got ${JSON.stringify(o.quick)})`);
    return {
      scenarios: [...new Set(scenarios as string[])],
      ...(o.trials === undefined ? {} : { trials: o.trials as number }),
      quick: o.quick === true,
    };
  }

  function startStudy(runner: StudyRunner, request: StudyRequest): StudyJob {
    const j: StudyJob = { state: 'running', request, startedAt: new Date().toISOString(), phase: 'starting', log: [] };
    const log = (line: string) => {
      j.log.push(line);
      if (j.log.length > 200) j.log.splice(0, j.log.length - 200);
    };
    runner
      .run(
        request,
        {
          phase: (name) => ((j.phase = name), delete j.trial, log(`phase: ${name}`)),
          trial: (i, n) => (j.trial = { i, n }),
          log,
        },
        abort.signal,
      )
      .then(
        ({ dir, id }) => {
          reports.set(id, dir);
          Object.assign(j, {
            state: 'done',
            phase: 'done',
            id,
            reportUrl: `${PLATFORM}/reports/${id}/report.html`,
            finishedAt: new Date().toISOString(),
          });
        },
        (err: unknown) => Object.assign(j, { state: 'failed', error: (err as Error).message, finishedAt: new Date().toISOString() }),
      );
    return j;
  }

  async function platformRoute(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const session = await sessionOf(req);
    if (!session) return fail(res, 401, 'ERR_ADMIN_UNAUTHORIZED', 'not signed in, or the session expired: sign in again');
    if (req.method === 'GET' && path === PLATFORM) {
      return send(res, 200, { available: true, studies: Boolean(opts.studies), scenarios: (await opts.studies?.scenarios()) ?? [] });
    }
    if (req.method === 'GET' && path === `${PLATFORM}/services`) {
      const rows: (ServiceMetrics & { name: string })[] = await Promise.all(
        opts.services.map(async (s) => ({ name: s.name, ...(await serviceMetrics(s.url)) })),
      );
      return send(res, 200, { services: rows });
    }
    if (req.method === 'GET' && path === `${PLATFORM}/studies/current`) return send(res, 200, { study: job ?? null });
    const report = new RegExp(`^${PLATFORM}/reports/([\\w-]+)/report\\.html$`).exec(path);
    if (req.method === 'GET' && report) {
      const dir = reports.get(report[1]!);
      if (!dir) return fail(res, 404, 'ERR_NOT_FOUND', `no report ${report[1]} from this console`);
      const html = await readFile(join(dir, 'report.html'));
      // The report is one self-contained file with its own inline script and styles: sandboxed, no network.
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; sandbox allow-scripts",
        'x-content-type-options': 'nosniff',
      });
      return void res.end(html);
    }
    if (req.method === 'POST' && path === `${PLATFORM}/studies`) {
      const own = `http://${req.headers.host ?? ''}`;
      if (req.headers.origin !== undefined && req.headers.origin !== own)
        return fail(res, 403, 'ERR_FORBIDDEN', `change refused: origin ${req.headers.origin} is not ${own}`);
      const sent = req.headers['x-csrf-token'];
      const digest = (v: string) => createHash('sha256').update(v).digest();
      if (typeof sent !== 'string' || !timingSafeEqual(digest(sent), digest(session.csrf)))
        return fail(res, 403, 'ERR_FORBIDDEN', 'change refused: missing or wrong X-CSRF-Token (reload the page)');
      if (!opts.studies) return fail(res, 404, 'ERR_NOT_FOUND', 'this console cannot run studies');
      const request = parseStudyRequest(await readJson(req));
      if (job?.state === 'running')
        return fail(res, 409, 'ERR_CONFLICT', `a study is already running (since ${job.startedAt}); wait for it to finish`);
      try {
        await opts.studies.validate(request);
      } catch (err) {
        return fail(res, 400, (err as AuthlabError).code ?? 'ERR_BAD_REQUEST', (err as Error).message);
      }
      job = startStudy(opts.studies, request);
      return send(res, 202, { study: job });
    }
    return fail(res, 404, 'ERR_NOT_FOUND', `no route ${req.method} ${path}`);
  }

  /** The page's own paths go to the IdP as they came (Host included, so the IdP's Origin check sees this origin). */
  function proxy(req: IncomingMessage, res: ServerResponse): void {
    const up = httpRequest({ host: idp.hostname, port: idp.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) fail(res, 502, 'ERR_UPSTREAM_UNREACHABLE', `the IdP at ${idp.origin} did not answer (${err.message})`);
      else res.destroy();
    });
    req.pipe(up);
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === PLATFORM || path.startsWith(`${PLATFORM}/`)) {
      platformRoute(req, res, path).catch((err: unknown) => {
        const e = err instanceof AuthlabError ? err : new AuthlabError('ERR_INTERNAL', `console error: ${(err as Error).message}`);
        if (!res.headersSent) fail(res, e.status >= 400 ? e.status : 500, e.code, e.message);
      });
      return;
    }
    if (path === '/') {
      res.writeHead(302, { location: '/admin/ui' });
      return void res.end();
    }
    // Only the page: the admin API's Bearer routes and token exchange stay on the IdP's own port.
    if (path === '/admin/ui' || path.startsWith('/admin/ui/')) return proxy(req, res);
    fail(res, 404, 'ERR_NOT_FOUND', `the admin console serves /admin/ui only; the IdP is at ${idp.origin}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    async close() {
      abort.abort(new Error('authlab up is stopping'));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
