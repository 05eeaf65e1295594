import type { V1ConfigMap, V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import { PG_DATA, PG_PREFIX } from '../images/component-images.js';
import { IMAGE_USERS } from '../images/rootfs.js';

/** PostgreSQL's port inside the cluster. */
export const PG_PORT = 5432;

/** A password-only pg_hba: no trust over TCP; who may connect at all is the NetworkPolicy's call. */
const HBA = 'local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n';

/**
 * One PostgreSQL server for one owner (the IdP or a service), as a Deployment + ClusterIP Service named
 * `db`. The init container runs initdb with `role` as the bootstrap user and creates database
 * `database` in single-user mode; data lives in an emptyDir (a study's database is disposable).
 * Runs as the image's non-root user; labels `app: db` are what NetworkPolicies select.
 */
export function postgresObjects(
  namespace: string,
  image: string,
  role: string,
  database: string,
  password: string,
): { secret: V1Secret; hba: V1ConfigMap; deployment: V1Deployment; service: V1Service } {
  const uid = IMAGE_USERS.postgres.uid;
  const labels = { app: 'db' };
  const init = [
    `${PG_PREFIX}/bin/initdb -D ${PG_DATA}/pg -U ${role} --pwfile=/etc/authlab-db/password --auth=scram-sha-256 -E UTF8 --locale=C --no-sync`,
    `echo "CREATE DATABASE ${database}" | ${PG_PREFIX}/bin/postgres --single -D ${PG_DATA}/pg postgres`,
  ].join(' && ');
  return {
    secret: { metadata: { name: 'db', namespace }, stringData: { password } },
    hba: { metadata: { name: 'db-hba', namespace }, data: { 'pg_hba.conf': HBA } },
    service: {
      metadata: { name: 'db', namespace, labels },
      spec: { selector: labels, ports: [{ name: 'pg', port: PG_PORT, targetPort: PG_PORT }] },
    },
    deployment: {
      metadata: { name: 'db', namespace, labels },
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
              { name: 'data', emptyDir: {} },
              { name: 'password', secret: { secretName: 'db' } },
              { name: 'hba', configMap: { name: 'db-hba' } },
            ],
            initContainers: [
              {
                name: 'initdb',
                image,
                imagePullPolicy: 'Never',
                command: ['/bin/sh', '-c', init],
                volumeMounts: [
                  { name: 'data', mountPath: PG_DATA },
                  { name: 'password', mountPath: '/etc/authlab-db', readOnly: true },
                ],
              },
            ],
            containers: [
              {
                name: 'postgres',
                image,
                imagePullPolicy: 'Never',
                args: [
                  '-D',
                  `${PG_DATA}/pg`,
                  '-c',
                  'listen_addresses=*',
                  '-c',
                  'unix_socket_directories=/tmp',
                  '-c',
                  'hba_file=/etc/authlab-hba/pg_hba.conf',
                  '-c',
                  'fsync=off',
                ],
                ports: [{ containerPort: PG_PORT }],
                readinessProbe: { tcpSocket: { port: PG_PORT }, periodSeconds: 1 },
                volumeMounts: [
                  { name: 'data', mountPath: PG_DATA },
                  { name: 'hba', mountPath: '/etc/authlab-hba', readOnly: true },
                ],
                securityContext: { allowPrivilegeEscalation: false },
              },
            ],
          },
        },
      },
    },
  };
}
