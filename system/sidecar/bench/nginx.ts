/**
 * nginx (the Debian package) as a bench reference: started with its own prefix and config in a
 * temporary folder, in the foreground (`daemon off`), so its master is our child and is stopped by
 * its own pid. One worker process, so its CPU is one process's account.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopProcess } from '../../../runner/platforms/local/child.js';
import { processTree } from '../../../runner/study/cpu.js';

export interface Nginx {
  /** The master's pid. */
  pid: number;
  /** The worker pids (children of the master), read from /proc. */
  workerPids(): Promise<number[]>;
  stop(): Promise<void>;
}

/** Where nginx is looked for: `$NGINX_BIN`, then the Debian package's path. */
export function nginxBinary(): string {
  return process.env.NGINX_BIN ?? '/usr/sbin/nginx';
}

/** Where nginx's JavaScript module is looked for: `$NJS_MODULE`, then the Debian package's path. */
export function njsModule(): string {
  return process.env.NJS_MODULE ?? '/usr/lib/nginx/modules/ngx_http_js_module.so';
}

export interface StartOptions {
  /** Dynamic modules to load (`load_module`, outside the `http {}` block). */
  modules?: string[];
  /** What the readiness POST sends (default `{}`). */
  readyBody?: string;
}

/**
 * Starts nginx with `http` as the body of its `http {}` block and waits until it answers on `readyUrl`.
 * Throws with apt-get's command when nginx is not installed.
 */
export async function startNginx(name: string, http: string, readyUrl: string, opts: StartOptions = {}): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), `authlab-nginx-${name}-`));
  await mkdir(join(dir, 'logs'));
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `${(opts.modules ?? []).map((m) => `load_module ${m};\n`).join('')}worker_processes 1;
error_log ${join(dir, 'logs', 'error.log')} warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  keepalive_requests 1000000;
  keepalive_timeout 65s;
${http}
}
`,
  );
  const child: ChildProcess = spawn(nginxBinary(), ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`could not start nginx (${nginxBinary()}): ${err.message}; install it with apt-get install nginx`, { cause: err })),
    );
    child.once('exit', (code) => reject(new Error(`nginx ${name} exited with ${code}: ${stderr.trim()}`)));
  });
  failed.catch(() => {});
  const stop = async () => {
    await stopProcess(child, { signal: 'SIGQUIT', graceMs: 3000 });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const end = Date.now() + 10_000;
    for (;;) {
      const ok = await Promise.race([
        fetch(readyUrl, { method: 'POST', body: opts.readyBody ?? '{}' }).then(
          (r) => r.ok,
          () => false,
        ),
        failed,
      ]);
      if (ok) break;
      if (Date.now() > end) throw new Error(`nginx ${name} did not answer ${readyUrl} within 10 s: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const pid = child.pid!;
  return {
    pid,
    // The master's descendants are its workers (they start no processes of their own).
    workerPids: async () => (await processTree(pid)).slice(1),
    stop,
  };
}

/**
 * The native ceiling of `bench:hop` (njs/hop.js): nginx + njs doing the sidecar's outbound body checks and
 * forwarding to `upstreamOrigin`'s `/query` over keep-alive. Resolves with null and the reason when
 * nginx's JavaScript module is not installed, so the bench can go on without it.
 */
export async function startNjsForwarder(
  upstreamOrigin: string,
  port: number,
): Promise<{ nginx: Nginx; url: string } | { nginx: null; reason: string }> {
  try {
    await access(njsModule());
  } catch {
    return { nginx: null, reason: `${njsModule()} is missing: apt-get install libnginx-mod-http-js` };
  }
  const script = fileURLToPath(new URL('./njs/hop.js', import.meta.url));
  const url = `http://127.0.0.1:${port}/call/null/query`;
  const nginx = await startNginx(
    'njs',
    `  js_import hop from ${script};
  upstream null_upstream { server ${new URL(upstreamOrigin).host}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    subrequest_output_buffer_size 64k;
    location = /call/null/query { js_content hop.call; }
    location = /_upstream { internal; proxy_pass http://null_upstream/query; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
    url,
    { modules: [njsModule()], readyBody: '{"query":"light","params":{"id":1}}' },
  );
  return { nginx, url };
}
