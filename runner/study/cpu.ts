import { readdir, readFile } from 'node:fs/promises';

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s ticks. */
const TICK_US = 10_000;

/**
 * CPU time a process has used so far, µs, all threads: the sum of /proc/<pid>/task/<tid>/schedstat
 * (ns, exact) where the kernel keeps it, else utime + stime of /proc/<pid>/stat (10 ms ticks).
 * Undefined when the process is gone or /proc is not Linux's.
 */
export async function processCpuUs(pid: number): Promise<number | undefined> {
  try {
    const tids = await readdir(`/proc/${pid}/task`);
    let ns = 0;
    for (const tid of tids) {
      // A thread may end between readdir and read: it then counts 0 here (its time is in no task any more).
      const text = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '0');
      ns += Number(text.split(' ')[0]) || 0;
    }
    if (ns > 0) return ns / 1000;
  } catch {
    // fall through to /proc/<pid>/stat
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return undefined;
  }
}

/** A process and every descendant it has now (/proc/<pid>/task/<tid>/children), pid first. */
export async function processTree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const tids = await readdir(`/proc/${out[i]}/task`).catch(() => [] as string[]); // [] when gone meanwhile
    for (const tid of tids) {
      const children = await readFile(`/proc/${out[i]}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const c of children.split(' ')) if (c.trim() !== '') out.push(Number(c));
    }
  }
  return out;
}

/**
 * CPU µs of several named processes at once, each with its descendants (a sidecar's Go data plane is its
 * child: its CPU is the sidecar's); a name is absent when its pid or counters are.
 */
export async function sampleCpu(pids: ReadonlyMap<string, number>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await Promise.all(
    [...pids].map(async ([name, pid]) => {
      const us = await processCpuUs(pid);
      if (us === undefined) return;
      let descendants = 0;
      for (const p of (await processTree(pid)).slice(1)) descendants += (await processCpuUs(p)) ?? 0;
      out.set(name, us + descendants);
    }),
  );
  return out;
}
