import type {
  V1ClusterRoleBinding,
  V1Deployment,
  V1EnvVar,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { IMAGE_USERS } from '../images/rootfs.js';

/** Port the IdP and every sidecar listen on inside their pods. */
export const APP_PORT = 8080;
/** Port a sidecar's Go data plane serves outbound calls on (`--data-plane go`), in the sidecar's pod. */
export const DATA_PLANE_PORT = 8081;
/** Port the IdP's Go token plane serves the token endpoint on (`--data-plane go`), in the IdP's pod. */
export const TOKEN_PLANE_PORT = 8082;
/** Where the sidecar's projected service-account token is mounted. */
export const SA_TOKEN_DIR = '/var/run/secrets/authlab';
export const SA_TOKEN_PATH = `${SA_TOKEN_DIR}/token`;
/** Lifetime the kubelet asks for the projected token, seconds (the apiserver's minimum is 600). */
export const SA_TOKEN_SECONDS = 600;
const IN_POD_SA = '/var/run/secrets/kubernetes.io/serviceaccount';

function appDeployment(
  namespace: string,
  name: string,
  image: string,
  serviceAccount: string,
  readyPath: string,
  extra: { volumes?: V1Volume[]; mounts?: V1VolumeMount[]; env?: V1EnvVar[]; automount: boolean; ports?: number[] },
): V1Deployment {
  const labels = { app: name };
  const uid = IMAGE_USERS.app.uid;
  return {
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: serviceAccount,
          automountServiceAccountToken: extra.automount,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid },
          volumes: [{ name: 'config', secret: { secretName: `${name}-config` } }, ...(extra.volumes ?? [])],
          containers: [
            {
              name,
              image,
              imagePullPolicy: 'Never',
              args: ['--config', '/etc/authlab/config.json'],
              env: extra.env ?? [],
              ports: [APP_PORT, ...(extra.ports ?? [])].map((containerPort) => ({ containerPort })),
              readinessProbe: { httpGet: { path: readyPath, port: APP_PORT }, periodSeconds: 1, failureThreshold: 3 },
              volumeMounts: [{ name: 'config', mountPath: '/etc/authlab', readOnly: true }, ...(extra.mounts ?? [])],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

function service(namespace: string, name: string, more: { name: string; port: number }[] = []): V1Service {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      selector: { app: name },
      ports: [{ name: 'http', port: APP_PORT }, ...more].map((p) => ({ name: p.name, port: p.port, targetPort: p.port })),
    },
  };
}

/** The IdP's Service (created first: its ClusterIP goes into every config); with a token plane, its port too (`token-plane`). */
export function idpService(namespace: string, tokenPlane = false): V1Service {
  return service(namespace, 'idp', tokenPlane ? [{ name: 'token-plane', port: TOKEN_PLANE_PORT }] : []);
}

/** A sidecar's Service in its service namespace; with a data plane, its port too (`data-plane`). */
export function sidecarService(namespace: string, dataPlane = false): V1Service {
  return service(namespace, 'sidecar', dataPlane ? [{ name: 'data-plane', port: DATA_PLANE_PORT }] : []);
}

/**
 * The IdP: its service account may create TokenReviews (system:auth-delegator) and reads the cluster's
 * CA and its own token from the default mount; `NODE_EXTRA_CA_CERTS` lets the JWKS verifier fetch
 * the apiserver's JWKS over TLS.
 */
export function idpObjects(
  namespace: string,
  image: string,
  config: object,
): { sa: V1ServiceAccount; binding: V1ClusterRoleBinding; secret: V1Secret; deployment: V1Deployment } {
  const tokenPlane = (config as { tokenPlane?: { port: number } }).tokenPlane;
  return {
    sa: { metadata: { name: 'idp', namespace } },
    binding: {
      metadata: { name: 'authlab:idp-auth-delegator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'idp', namespace }],
    },
    secret: { metadata: { name: 'idp-config', namespace }, stringData: { 'config.json': JSON.stringify(config, null, 2) } },
    deployment: appDeployment(namespace, 'idp', image, 'idp', '/healthz', {
      automount: true,
      env: [{ name: 'NODE_EXTRA_CA_CERTS', value: `${IN_POD_SA}/ca.crt` }],
      ...(tokenPlane ? { ports: [tokenPlane.port] } : {}),
    }),
  };
}

/**
 * One service's sidecar: service account `sidecar` whose token is projected with audience
 * `authlab-idp` and a short lifetime (the kubelet rewrites it at 80 %); the default token is not mounted.
 */
export function sidecarObjects(
  namespace: string,
  image: string,
  config: object,
  /** `authlab study --calibrate <µs>`: the sidecar's documented test hook (system/sidecar/calibrate.ts). */
  calibrateUs?: number,
): { sa: V1ServiceAccount; secret: V1Secret; deployment: V1Deployment } {
  const dataPlane = (config as { dataPlane?: { port: number } }).dataPlane;
  return {
    sa: { metadata: { name: 'sidecar', namespace }, automountServiceAccountToken: false },
    secret: { metadata: { name: 'sidecar-config', namespace }, stringData: { 'config.json': JSON.stringify(config, null, 2) } },
    deployment: appDeployment(namespace, 'sidecar', image, 'sidecar', '/readyz', {
      automount: false,
      volumes: [
        {
          name: 'sa-token',
          projected: {
            sources: [{ serviceAccountToken: { audience: 'authlab-idp', expirationSeconds: SA_TOKEN_SECONDS, path: 'token' } }],
          },
        },
      ],
      mounts: [{ name: 'sa-token', mountPath: SA_TOKEN_DIR, readOnly: true }],
      ...(dataPlane ? { ports: [dataPlane.port] } : {}),
      ...(calibrateUs ? { env: [{ name: 'AUTHLAB_CALIBRATE_US', value: String(calibrateUs) }] } : {}),
    }),
  };
}
