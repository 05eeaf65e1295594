import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ClusterError } from '../errors.js';
import { execTool } from '../exec.js';
import { KIND_VERSION } from './config.js';

/** First executable `name` on PATH, in `$GOPATH/bin` or `~/go/bin` (where `go install` puts kind). */
export async function findTool(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const dirs = [
    ...(env.PATH ?? '').split(delimiter),
    ...(env.GOPATH ?? '').split(delimiter).map((d) => d && join(d, 'bin')),
    env.HOME ? join(env.HOME, 'go', 'bin') : '',
  ].filter(Boolean);
  for (const d of dirs) {
    try {
      await access(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return null;
}

/** The tools `--platform kind` runs, found and checked. */
export interface KindTools {
  kind: string;
  docker: string;
}

/**
 * Creating a kind cluster needs the `kind` binary and a Docker daemon that answers (`docker info`): a
 * docker client without a daemon is as missing as no docker. One sentence and exit 2 (ERR_TOOL_MISSING)
 * for each; `--kubeconfig` (an existing cluster) needs neither.
 */
export async function requireKindTools(env: NodeJS.ProcessEnv = process.env): Promise<KindTools> {
  const docker = await findTool('docker', env);
  if (!docker)
    throw new ClusterError(
      'ERR_TOOL_MISSING',
      '`--platform kind` needs Docker and no `docker` is on PATH; install Docker, or target an existing cluster with `--kubeconfig <file>`',
    );
  const info = await execTool(docker, ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000, env });
  if (info.code !== 0 || !info.stdout.trim()) {
    const why = (
      info.stderr
        .trim()
        .split('\n')
        .find((l) => l.trim()) ?? `exit ${info.code}`
    ).slice(0, 160);
    throw new ClusterError(
      'ERR_TOOL_MISSING',
      `\`--platform kind\` needs a running Docker daemon and \`${docker} info\` failed (${why}); start Docker, or target an existing cluster with \`--kubeconfig <file>\``,
    );
  }
  const kind = await findTool('kind', env);
  if (!kind)
    throw new ClusterError(
      'ERR_TOOL_MISSING',
      `\`--platform kind\` needs the kind binary and none is on PATH or in ~/go/bin; install it with \`go install sigs.k8s.io/kind@${KIND_VERSION}\``,
    );
  return { kind, docker };
}
