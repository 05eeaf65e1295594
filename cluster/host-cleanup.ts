import { readdir, readFile, readlink, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execTool } from './exec.js';

/**
 * Host directories the kubelet, containerd or CNI create by default even when pointed elsewhere.
 * `up` records which already existed; `down` removes the ones that did not.
 */
export const HOST_DIRS = [
  '/run/netns',
  '/var/log/containers',
  '/var/log/pods',
  '/var/lib/cni',
  '/run/containerd',
  '/var/lib/kubelet',
  '/etc/cni',
  '/opt/cni',
  '/opt/containerd',
  '/var/lib/containerd',
] as const;

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Which of {@link HOST_DIRS} exist now. */
export async function existingHostDirs(): Promise<string[]> {
  const out: string[] = [];
  for (const d of HOST_DIRS) if (await pathExists(d)) out.push(d);
  return out;
}

/** Mount points from /proc/self/mountinfo (octal escapes decoded). */
export async function mountPoints(): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Mounts the cluster made: under its directory, and the pods' network namespaces under /run/netns. */
export function isOwnMount(mountPoint: string, clusterDir: string, preexistingNetns: readonly string[]): boolean {
  if (mountPoint.startsWith(`${clusterDir}/`)) return true;
  const m = /^\/(?:var\/)?run\/netns\/(cni-[^/]+)$/.exec(mountPoint);
  return !!m && !preexistingNetns.includes(m[1]!);
}

/** Unmounts every own mount, deepest first (lazily, so a busy one cannot block teardown). */
export async function unmountOwn(clusterDir: string, preexistingNetns: readonly string[]): Promise<string[]> {
  const own = (await mountPoints()).filter((m) => isOwnMount(m, clusterDir, preexistingNetns));
  const sorted = [...new Set(own)].sort((a, b) => b.length - a.length);
  for (const m of sorted) await execTool('umount', ['-l', m]);
  return sorted;
}

/** Entries of /run/netns (network namespaces named by `ip netns` or CNI). */
export async function netnsEntries(): Promise<string[]> {
  try {
    return await readdir('/run/netns');
  } catch {
    return [];
  }
}

async function pids(): Promise<number[]> {
  return (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
}

async function readProc(pid: number, file: string): Promise<string> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Processes of this cluster that no daemon record names: container processes (their cgroup path
 * holds `/kubepods`, the kubelet's cgroupfs hierarchy) and containerd shims started for our socket.
 */
export async function strayProcesses(containerdSocket: string): Promise<{ pid: number; what: string }[]> {
  const found: { pid: number; what: string }[] = [];
  for (const pid of await pids()) {
    if (pid === process.pid) continue;
    const cmd = (await readProc(pid, 'cmdline')).split('\0').join(' ').trim();
    if (/containerd-shim/.test(cmd) && cmd.includes(containerdSocket)) {
      found.push({ pid, what: `containerd shim: ${cmd.slice(0, 80)}` });
      continue;
    }
    if (/^\d+:[^:]*:\/kubepods/m.test(await readProc(pid, 'cgroup'))) found.push({ pid, what: `pod process: ${cmd.slice(0, 80) || '?'}` });
  }
  return found;
}

/** SIGKILLs the given pids and waits (up to `timeoutMs`, default 5 000 ms) until they are gone. */
export async function killPids(list: readonly number[], timeoutMs = 5_000): Promise<void> {
  for (const pid of list) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const pid of list) {
    while (Date.now() < deadline) {
      const st = await readProc(pid, 'status');
      if (!st || /^State:\s+Z/m.test(st)) break;
      await sleep(20);
    }
  }
}

/** Top-level cgroup directories named `kubepods*` in every hierarchy (cgroup v1 and v2). */
export async function kubepodsCgroups(root = '/sys/fs/cgroup'): Promise<string[]> {
  const out: string[] = [];
  const scan = async (dir: string, depth: number) => {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e);
      if (/^kubepods/.test(e)) out.push(p);
      else if (depth === 0 && !e.includes('.')) {
        try {
          if ((await stat(p)).isDirectory()) await scan(p, 1);
        } catch {
          // not a directory
        }
      }
    }
  };
  await scan(root, 0);
  return out;
}

/** Removes a cgroup tree bottom-up (cgroup directories can only be rmdir'ed when empty of children). */
export async function removeCgroupTree(dir: string): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(join(dir, e.name));
  for (let i = 0; i < 20; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      await sleep(50);
    }
  }
}

/** Symlinks in /var/log/containers pointing into the cluster directory (kubelet makes them). */
export async function removeOwnLogLinks(clusterDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir('/var/log/containers');
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join('/var/log/containers', e);
    try {
      if ((await readlink(p)).startsWith(clusterDir)) await rm(p, { force: true });
    } catch {
      // not a link
    }
  }
}
