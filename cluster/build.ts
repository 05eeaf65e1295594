import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, chmod, constants, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_TARGETS, GO_MODULES_DIR, type BuildTarget } from './build-targets.js';
import { ClusterError } from './errors.js';
import { execTool } from './exec.js';
import { buildPaths, type BuildPaths } from './paths.js';
import { CLUSTER_BINARIES, OBSERVE_BINARIES, type ClusterBinary } from './versions.js';

/** One binary in `build.json`. */
export interface BuiltBinary {
  /** sha256 of the target's recipe, its wrapper module's files and `go version`. */
  inputs: string;
  /** Wall-clock build time, seconds (cold or warm Go build cache: see `warmCache`). */
  seconds: number;
  builtAt: string;
  goVersion: string;
}

export interface BuildManifest {
  binaries: Partial<Record<ClusterBinary, BuiltBinary>>;
}

export interface BuildOptions {
  log: (line: string) => void;
  /** Rebuild even when the cached binary matches its inputs. */
  force?: boolean;
  /** Go's `-p` (default 2: the CPU is shared). */
  parallelism?: number;
  /** Seconds between "still building" lines (default 30). */
  heartbeatS?: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Build only these binaries (default: every target, the observe ones included). */
  only?: readonly ClusterBinary[];
}

export interface BuildResult {
  binDir: string;
  built: { name: ClusterBinary; seconds: number }[];
  reused: ClusterBinary[];
}

async function exists(path: string, mode = constants.F_OK): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Binaries of `names` (default {@link CLUSTER_BINARIES}: what `cluster up` would have to build) absent
 * from the cache.
 */
export async function missingBinaries(
  env: NodeJS.ProcessEnv = process.env,
  names: readonly ClusterBinary[] = CLUSTER_BINARIES,
): Promise<ClusterBinary[]> {
  const { bin } = buildPaths(env);
  const missing: ClusterBinary[] = [];
  for (const name of names) if (!(await exists(join(bin, name), constants.X_OK))) missing.push(name);
  return missing;
}

export async function readManifest(paths: BuildPaths): Promise<BuildManifest> {
  try {
    return JSON.parse(await readFile(paths.manifest, 'utf8')) as BuildManifest;
  } catch {
    return { binaries: {} };
  }
}

/** `go version` output, or ERR_TOOL_MISSING with what to do. */
export async function goVersion(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const r = await execTool('go', ['version'], { env });
    if (r.code === 0) return r.stdout.trim();
  } catch {
    // fall through to the sentence below
  }
  throw new ClusterError(
    'ERR_TOOL_MISSING',
    'building the Kubernetes binaries needs the Go toolchain (>= 1.24) on PATH and none was found; install Go (https://go.dev/dl/) or put prebuilt binaries in ' +
      buildPaths(env).bin,
  );
}

async function inputsHash(target: BuildTarget, go: string): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify(target)).update(go);
  if (target.module) {
    const dir = join(GO_MODULES_DIR, target.module);
    for (const f of (await readdir(dir)).sort()) h.update(f).update(await readFile(join(dir, f)));
  }
  return h.digest('hex');
}

function formatS(seconds: number): string {
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s` : `${seconds.toFixed(1)} s`;
}

/** Runs one `go` command with its output in `logFile`; prints a heartbeat while it runs. */
function runGo(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
  heartbeat: () => void,
  heartbeatS: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`$ go ${args.join(' ')}\n`);
    const child = spawn('go', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const timer = setInterval(heartbeat, heartbeatS * 1000);
    child.on('error', (err) => {
      clearInterval(timer);
      log.end();
      reject(signal?.aborted ? new ClusterError('ERR_ABORTED', 'build interrupted', { cause: err }) : err);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      log.end(() => {
        if (code === 0) resolve();
        else reject(new ClusterError('ERR_BUILD_FAILED', `\`go ${args.slice(0, 2).join(' ')} …\` failed (exit ${code}); see ${logFile}`));
      });
    });
  });
}

/**
 * Builds every platform binary that is missing or whose inputs changed into the cache
 * (`buildPaths().bin`), one at a time with `go -p <parallelism>`, printing progress. Upstream Kubernetes
 * cannot be `go install`ed (its go.mod replaces staging modules with local paths), so it is built
 * inside a wrapper module (`cluster/go/k8s`) that requires k8s.io/kubernetes and pins every staging
 * module. A cold build takes ~15 min on 2 cores and ~4 GB of module and build cache.
 */
export async function buildClusterBinaries(options: BuildOptions): Promise<BuildResult> {
  const env = options.env ?? process.env;
  const paths = buildPaths(env);
  const go = await goVersion(env);
  await mkdir(paths.bin, { recursive: true });
  await mkdir(paths.logs, { recursive: true });
  const manifest = await readManifest(paths);
  const result: BuildResult = { binDir: paths.bin, built: [], reused: [] };
  const p = options.parallelism ?? 2;
  const goEnv: NodeJS.ProcessEnv = { ...env, CGO_ENABLED: '0', GOFLAGS: `-mod=mod -buildvcs=false -p=${p}` };
  const todo: { target: BuildTarget; inputs: string }[] = [];
  for (const target of BUILD_TARGETS) {
    if (options.only && !options.only.includes(target.name)) continue;
    const inputs = await inputsHash(target, go);
    const have = manifest.binaries[target.name];
    if (!options.force && have?.inputs === inputs && (await exists(join(paths.bin, target.name), constants.X_OK)))
      result.reused.push(target.name);
    else todo.push({ target, inputs });
  }
  if (result.reused.length) options.log(`reusing ${result.reused.length} cached binaries in ${paths.bin}`);
  let i = 0;
  for (const { target, inputs } of todo) {
    i++;
    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    options.log(`building ${target.name} (${i}/${todo.length})…`);
    const logFile = join(paths.logs, `${target.name}.log`);
    await rm(logFile, { force: true });
    const heartbeat = () => options.log(`  still building ${target.name}: ${formatS(elapsed())} so far (log: ${logFile})`);
    const out = join(paths.bin, `.${target.name}.tmp`);
    if (target.kind === 'module') {
      const src = join(paths.src, target.module!);
      await mkdir(src, { recursive: true });
      await cp(join(GO_MODULES_DIR, target.module!), src, { recursive: true, force: true });
      for (const f of await readdir(src)) await chmod(join(src, f), 0o644);
      await runGo(
        ['build', '-trimpath', ...(target.tags ? ['-tags', target.tags] : []), '-ldflags', target.ldflags, '-o', out, target.pkg],
        src,
        goEnv,
        logFile,
        heartbeat,
        options.heartbeatS ?? 30,
        options.signal,
      );
    } else {
      const gobin = await mkdtemp(join(paths.root, '.gobin-'));
      try {
        const installEnv = { ...goEnv, GOBIN: gobin, GOFLAGS: `-buildvcs=false -p=${p}` };
        await runGo(
          ['install', '-trimpath', '-ldflags', target.ldflags, target.pkg],
          paths.root,
          installEnv,
          logFile,
          heartbeat,
          options.heartbeatS ?? 30,
          options.signal,
        );
        await rename(join(gobin, target.name), out);
      } finally {
        await rm(gobin, { recursive: true, force: true });
      }
    }
    await rename(out, join(paths.bin, target.name));
    const seconds = Math.round(elapsed() * 10) / 10;
    manifest.binaries[target.name] = { inputs, seconds, builtAt: new Date().toISOString(), goVersion: go };
    // Written after every binary, so an interrupted build keeps what it finished.
    await writeFile(paths.manifest, JSON.stringify(manifest, null, 2) + '\n');
    result.built.push({ name: target.name, seconds });
    options.log(`built ${target.name} in ${formatS(seconds)}`);
  }
  return result;
}

/**
 * The cached `prometheus` and `promtool` (upstream, with Kubernetes service discovery) for `--observe`
 * on a cluster, built first when missing (≈ the time of one kube binary; progress through `log`).
 * Resolves their paths.
 */
export async function observeBinaries(
  log: (line: string) => void,
  opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<Record<(typeof OBSERVE_BINARIES)[number], string>> {
  const env = opts.env ?? process.env;
  const missing = await missingBinaries(env, OBSERVE_BINARIES);
  if (missing.length) {
    log(`Prometheus ${missing.join(' and ')} not built yet; building once into ${buildPaths(env).bin} (several minutes on 2 cores)…`);
    await buildClusterBinaries({ log: (l) => log(`  ${l}`), env, only: OBSERVE_BINARIES, ...(opts.signal ? { signal: opts.signal } : {}) });
  }
  const { bin } = buildPaths(env);
  return { prometheus: join(bin, 'prometheus'), promtool: join(bin, 'promtool') };
}
