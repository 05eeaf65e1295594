import { randomBytes } from 'node:crypto';
import type { V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import { IMAGE_USERS } from '../images/rootfs.js';

/** Redis's port inside the cluster. */
export const REDIS_PORT = 6379;

/**
 * One service's query cache on a cluster: a Redis server in the service's own namespace (reachable
 * only from its sidecar: network-policies.ts), with the same ACL shape as the local platform's shared
 * server (runner/platforms/local/redis.ts): the default user off, one user for the service that may
 * touch only keys under `<service>:` and send only the commands the cache sends. No persistence.
 * Returns the objects and the sidecar's `redis` config (URL with the user's password, key prefix).
 */
export function redisObjects(
  namespace: string,
  image: string,
): { secret: V1Secret; deployment: V1Deployment; service: V1Service; sidecarConfig: (ip: string) => { url: string; prefix: string } } {
  if (!/^[a-z0-9-]+$/.test(namespace)) throw new RangeError(`invalid service name for a Redis user: ${namespace}`);
  const password = randomBytes(18).toString('hex');
  const prefix = `${namespace}:`;
  const conf = [
    'bind 0.0.0.0',
    `port ${REDIS_PORT}`,
    'dir /tmp',
    'save ""',
    'appendonly no',
    'daemonize no',
    // No default user: every connection authenticates as the service's own user.
    'protected-mode no',
    'logfile ""',
    'user default off',
    `user ${namespace} on >${password} resetkeys ~${prefix}* resetchannels -@all +@connection +hget +hset +expire +del +multi +exec`,
  ].join('\n');
  const labels = { app: 'redis' };
  const uid = IMAGE_USERS.app.uid;
  return {
    secret: { metadata: { name: 'redis', namespace }, stringData: { 'redis.conf': conf + '\n' } },
    service: {
      metadata: { name: 'redis', namespace, labels },
      spec: { selector: labels, ports: [{ name: 'redis', port: REDIS_PORT, targetPort: REDIS_PORT }] },
    },
    deployment: {
      metadata: { name: 'redis', namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid },
            volumes: [
              { name: 'conf', secret: { secretName: 'redis' } },
              { name: 'tmp', emptyDir: {} },
            ],
            containers: [
              {
                name: 'redis',
                image,
                imagePullPolicy: 'Never',
                args: ['/etc/redis/redis.conf'],
                ports: [{ containerPort: REDIS_PORT }],
                readinessProbe: { tcpSocket: { port: REDIS_PORT }, periodSeconds: 1 },
                volumeMounts: [
                  { name: 'conf', mountPath: '/etc/redis', readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    },
    sidecarConfig: (ip) => ({ url: `redis://${namespace}:${password}@${ip}:${REDIS_PORT}`, prefix }),
  };
}
