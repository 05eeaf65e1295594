import type { KindConfig } from './config.js';

/** One external command, as authlab runs it (no shell). */
export interface CommandLine {
  file: string;
  args: string[];
  /** How long it may take, ms. */
  timeoutMs: number;
}

/** The kind commands of one cluster: what `--platform kind` runs, in order, and how it undoes it. */
export interface KindCommands {
  /** `kind get clusters`: is the cluster there already? */
  list: CommandLine;
  /** Creates the cluster from the config, writing its kubeconfig to `kubeconfig`, waiting for the node to be Ready. */
  create: CommandLine;
  /** `kind load image-archive` of each archive into every node (no registry). */
  load: (archive: string) => CommandLine;
  /** Writes the kubeconfig of a cluster that already exists. */
  exportKubeconfig: CommandLine;
  delete: CommandLine;
}

/** Builds the command lines for `config`'s cluster (`kind` is the binary's path). */
export function kindCommands(kind: string, config: KindConfig, configPath: string, kubeconfig: string): KindCommands {
  const name = ['--name', config.name];
  return {
    list: { file: kind, args: ['get', 'clusters'], timeoutMs: 30_000 },
    create: {
      file: kind,
      args: ['create', 'cluster', ...name, '--config', configPath, '--kubeconfig', kubeconfig, '--wait', '180s'],
      timeoutMs: 600_000,
    },
    load: (archive) => ({ file: kind, args: ['load', 'image-archive', archive, ...name], timeoutMs: 300_000 }),
    exportKubeconfig: { file: kind, args: ['export', 'kubeconfig', ...name, '--kubeconfig', kubeconfig], timeoutMs: 30_000 },
    delete: { file: kind, args: ['delete', 'cluster', ...name, '--kubeconfig', kubeconfig], timeoutMs: 180_000 },
  };
}

/** A command line as one could paste it into a shell (for logs and the README). */
export function shown(c: CommandLine): string {
  return [c.file, ...c.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
