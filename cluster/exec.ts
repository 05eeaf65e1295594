import { execFile } from 'node:child_process';
import { ClusterError } from './errors.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs `file args` to completion without a shell and resolves its output, whatever the exit code.
 * `timeoutMs` (default 60 000 ms) kills a hung tool.
 */
export function execTool(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          // ENOENT and friends: the tool itself could not start.
          reject(
            new ClusterError(
              'ERR_TOOL_MISSING',
              `could not run ${file}: ${(err as NodeJS.ErrnoException).code}; install it (see README "Kubernetes platform")`,
              { cause: err },
            ),
          );
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ stdout, stderr, code });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like {@link execTool} but a non-zero exit is an `ERR_COMMAND_FAILED` naming the command and its stderr. */
export async function mustExec(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const r = await execTool(file, args, options);
  if (r.code !== 0) {
    throw new ClusterError(
      'ERR_COMMAND_FAILED',
      `\`${file} ${args.join(' ')}\` failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  return r.stdout;
}
