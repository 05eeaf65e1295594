import { ClusterError } from '../errors.js';
import { execTool } from '../exec.js';
import { importImages } from '../images/import.js';
import type { ClusterPaths } from '../paths.js';
import { shown, type CommandLine } from './commands.js';

/** An image archive and the reference it carries. */
export interface ImageArchive {
  ref: string;
  archive: string;
}

/** Puts authlab's image archives where a cluster's nodes find them (imagePullPolicy Never: no registry). */
export interface ImageLoader {
  /** One line for the log: how images reach the nodes. */
  readonly description: string;
  /** Resolves the references it loaded now. */
  load(images: readonly ImageArchive[]): Promise<string[]>;
}

/** Runs a command line; a non-zero exit is `ERR_COMMAND_FAILED` with the command and kind's last words. */
export async function runCommand(c: CommandLine, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await execTool(c.file, c.args, { timeoutMs: c.timeoutMs, ...(env ? { env } : {}) });
  if (r.code !== 0) {
    const last = (r.stderr || r.stdout).trim().split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 400);
    throw new ClusterError('ERR_COMMAND_FAILED', `\`${shown(c)}\` failed (exit ${r.code}): ${last}`);
  }
  return r.stdout;
}

/** `kind load image-archive <archive> --name <cluster>` for each archive, the same archives the kube platform imports. */
export function kindLoader(load: (archive: string) => CommandLine, log: (line: string) => void, env?: NodeJS.ProcessEnv): ImageLoader {
  return {
    description: 'kind load image-archive',
    async load(images) {
      for (const img of images) {
        const c = load(img.archive);
        log(`$ ${shown(c)}`);
        await runCommand(c, env);
      }
      return images.map((i) => i.ref);
    },
  };
}

/** This host's kube cluster: `ctr images import` into its containerd (what the kube platform does). */
export function hostContainerdLoader(paths: Pick<ClusterPaths, 'containerdSocket'>): ImageLoader {
  return { description: "ctr images import (this host's kube cluster)", load: (images) => importImages('ctr', paths, images) };
}

/** Any other cluster: authlab cannot reach its nodes' image stores, so the images must be there already. */
export function preloadedLoader(log: (line: string) => void): ImageLoader {
  return {
    description: 'none (images must already be on the nodes)',
    async load(images) {
      for (const i of images) log(`this cluster must already hold ${i.ref} (load ${i.archive} with its own tool; pods never pull it)`);
      return [];
    },
  };
}
