import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';

/**
 * How the runner reaches a Service it deployed: on the kube platform the host is the node and a
 * ClusterIP answers as it is; elsewhere (kind, any cluster behind `--kubeconfig`) through a local
 * port-forward. Resolves a base URL the runner can use.
 */
export type Reach = (namespace: string, service: string, clusterUrl: string) => Promise<string>;

/** The identity: the host routes to ClusterIPs (the kube platform). */
export const directReach: Reach = async (_ns, _svc, clusterUrl) => clusterUrl;

/** A set of local listeners, each forwarding to one Service's pod through the apiserver. */
export interface PortForwards {
  reach: Reach;
  /** Closes every listener and open connection; idempotent. */
  close(): Promise<void>;
}

/**
 * Port-forwards through @kubernetes/client-node (`PortForward.portForwardService`, the websocket
 * `kubectl port-forward` uses): one loopback listener per Service, and per accepted connection a stream
 * to the first ready pod behind it, resolved at connect time so a restarted pod is found again.
 * Traffic arrives in the pod on its loopback, so the pods' NetworkPolicies need no rule for the runner.
 */
export function startPortForwards(kc: KubeConfig, log: (line: string) => void = () => {}): PortForwards {
  const forward = new PortForward(kc, true);
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const byKey = new Map<string, Promise<string>>();
  const open = async (namespace: string, service: string, port: number): Promise<string> => {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      forward.portForwardService(namespace, service, [port], socket, null, socket).then(
        (ws) => {
          const w = typeof ws === 'function' ? ws() : ws;
          socket.on('close', () => w?.close());
        },
        (err: unknown) => {
          log(`port-forward to ${namespace}/${service}:${port} failed: ${(err as Error).message}`);
          socket.destroy();
        },
      );
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  return {
    reach(namespace, service, clusterUrl) {
      const port = Number(new URL(clusterUrl).port || 80);
      const key = `${namespace}/${service}:${port}`;
      let url = byKey.get(key);
      if (!url) byKey.set(key, (url = open(namespace, service, port)));
      return url;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
