import { access, constants } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { AuthlabError, UsageError } from '../../system/protocol/errors.js';

/** Absolute path of `name` on PATH, or undefined. */
export async function findOnPath(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** `--engine k6` needs a k6 binary on PATH; otherwise one sentence on how to get it. */
export async function requireK6(path = process.env.PATH): Promise<string> {
  const found = await findOnPath('k6', path);
  if (found) return found;
  const goBin = join(homedir(), 'go', 'bin');
  const inGoBin = await findOnPath('k6', goBin);
  throw new AuthlabError(
    'ERR_ENGINE_UNAVAILABLE',
    inGoBin
      ? `\`--engine k6\` needs k6 on PATH; it is installed at ${inGoBin} but ${goBin} is not on PATH, so run \`export PATH="$PATH:${goBin}"\` or use \`--engine autocannon\``
      : '`--engine k6` needs the k6 binary on PATH and none was found; install it (https://grafana.com/docs/k6/latest/set-up/install-k6/ or `go install go.k6.io/k6@latest`) or use `--engine autocannon`',
  );
}

/** Only the local platform ships in this build. */
export function requireLocalPlatform(platform: string): void {
  if (platform !== 'local') {
    throw new UsageError(`the ${platform} platform is not available in this build; use --platform local`);
  }
}
