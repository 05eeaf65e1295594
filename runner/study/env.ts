import { execFile } from 'node:child_process';
import { cpus, platform, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { StudyInfo } from '../../results/schema.js';

const run = promisify(execFile);

/** The machine a study ran on (study.env). */
export function studyEnv(): StudyInfo['env'] {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()}`,
  };
}

/**
 * The commit the study ran from and whether the tree had changes (study.git); nulls when not in a
 * git checkout or git is missing, which must not stop a study.
 */
export async function studyGit(cwd: string = process.cwd()): Promise<StudyInfo['git']> {
  try {
    const { stdout: commit } = await run('git', ['rev-parse', 'HEAD'], { cwd });
    const { stdout: status } = await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd });
    return { commit: commit.trim(), dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}
