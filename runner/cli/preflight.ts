import { access, constants } from 'node:fs/promises';
import { requireKindTools } from '../../cluster/kind/preflight.js';
import type { PlatformName } from '../../results/schema.js';
import { findK6 } from '../engines/k6.js';
import { AuthlabError, UsageError } from '../../system/protocol/errors.js';
import type { DataPlaneName } from './args.js';

/**
 * `--engine k6` needs a k6 binary, found where the engine itself looks ({@link findK6}); otherwise one
 * sentence on how to get it. Resolves the binary's path, which the study hands to the engine.
 */
export async function requireK6(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const found = await findK6(env);
  if (found) return found;
  throw new AuthlabError(
    'ERR_ENGINE_UNAVAILABLE',
    '`--engine k6` needs the k6 binary on PATH (or in $K6_BIN, or ~/go/bin) and none was found; install it (https://grafana.com/docs/k6/latest/set-up/install-k6/ or `go install go.k6.io/k6@v1.8.1`) or use `--engine autocannon`',
  );
}

/** Every platform of PLATFORM_NAMES ships in this build (kube: see `authlab cluster`; kind: docker + kind, or `--kubeconfig`). */
export function requireLocalPlatform(platform: PlatformName): void {
  if (platform !== 'local' && platform !== 'kube' && platform !== 'kind') {
    throw new UsageError(`the ${platform} platform is not available in this build; use --platform local, kube or kind`);
  }
}

/** The kind platform's cluster flags, as its provisioning options. */
export function kindTarget(args: { kubeconfig?: string; keepCluster?: true }): { kubeconfig?: string; keepCluster?: boolean } {
  return { ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}), ...(args.keepCluster ? { keepCluster: true } : {}) };
}

/**
 * The kind platform's checks, before any progress line or provisioning: `--kubeconfig` must be readable;
 * without it, docker (with a daemon) and kind must be there. Each failure is one sentence, exit 2.
 */
export async function preflightKind(args: { platform: PlatformName; kubeconfig?: string }): Promise<void> {
  if (args.platform !== 'kind') return;
  if (args.kubeconfig !== undefined) {
    try {
      await access(args.kubeconfig, constants.R_OK);
    } catch {
      throw new UsageError(`\`--kubeconfig\` must be a readable kubeconfig file (cannot read '${args.kubeconfig}')`);
    }
    return;
  }
  await requireKindTools();
}

/**
 * `--data-plane`: builds the Go data plane (and the IdP's token plane) before anything is provisioned, so a machine without Go
 * learns it in a second; resolves the platforms' `dataPlane` option (empty for the Node sidecar) and the line
 * the command prints about it. `go` refuses to go on without them; `auto` (the default) falls back to the
 * Node sidecar and says why; `node` builds nothing. The platforms take the binary as it is (local) or pack it
 * into the sidecar image (kube, kind).
 */
export async function dataPlaneOption(
  name: DataPlaneName,
): Promise<{ dataPlane?: { binary: string; tokenPlane: string }; dataPlaneNote: string }> {
  const nodeNote = "data plane: the Node sidecar serves outbound calls (--data-plane node); the IdP's token exchange in Node";
  if (name === 'node') return { dataPlaneNote: nodeNote };
  const { buildGoProgram } = await import('../../system/sidecar/data-plane.js');
  const [built, tokenPlane] = [await buildGoProgram('dataplane'), await buildGoProgram('tokenplane')];
  const failed = [built, tokenPlane].find((b) => b.binary === null) as { reason: string } | undefined;
  if (failed && name === 'go') {
    throw new AuthlabError(
      'ERR_TOOL_MISSING',
      `--data-plane go builds the Go data plane and the IdP's token plane, which failed: ${failed.reason}; install Go 1.26 or use --data-plane node`,
    );
  }
  if (failed) {
    return {
      dataPlaneNote: `data plane: the Node sidecar serves outbound calls, as the Go data plane could not be built (${failed.reason}); install Go 1.26 for it, or pass --data-plane node to skip the build`,
    };
  }
  return {
    dataPlane: { binary: built.binary!, tokenPlane: tokenPlane.binary! },
    dataPlaneNote:
      "data plane: outbound calls go through each sidecar's Go data plane, token exchanges through the IdP's Go token plane (--data-plane node for the Node sidecar's own)",
  };
}
