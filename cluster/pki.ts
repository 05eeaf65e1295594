import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mustExec } from './exec.js';
import { API_URL, NET } from './topology.js';

/** A client identity and the subject it presents to the apiserver. */
interface ClientCert {
  name: string;
  cn: string;
  org?: string;
}

/**
 * Client certificates, one per component, with the user names the apiserver's bootstrap RBAC roles
 * (and the Node authorizer) expect.
 */
export const CLIENTS = [
  { name: 'admin', cn: 'authlab-admin', org: 'system:masters' },
  { name: 'kube-controller-manager', cn: 'system:kube-controller-manager' },
  { name: 'kube-scheduler', cn: 'system:kube-scheduler' },
  { name: 'kubelet', cn: `system:node:${NET.nodeName}`, org: 'system:nodes' },
  { name: 'kube-proxy', cn: 'system:kube-proxy' },
  { name: 'kube-router', cn: 'authlab:kube-router' },
  { name: 'coredns', cn: 'authlab:coredns' },
  { name: 'apiserver-kubelet-client', cn: 'kube-apiserver-kubelet-client' },
] as const satisfies readonly ClientCert[];
export type ClientName = (typeof CLIENTS)[number]['name'];

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = ['-days', '30'];

/**
 * Makes the cluster's PKI in `dir` with openssl: a CA, the apiserver's serving certificate (SANs: node
 * IP, the `kubernetes` Service IP, its DNS names), one client certificate per {@link CLIENTS} entry
 * (ECDSA P-256, fast to make) and the RSA-2048 service-account key pair (RS256 projected tokens).
 */
export async function makePki(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const f = (n: string) => join(dir, n);
  await mustExec('openssl', ['req', '-x509', ...EC, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=authlab-kube-ca', ...DAYS]);
  const sans = [
    `IP:${NET.nodeIp}`,
    `IP:${NET.apiServiceIp}`,
    'IP:127.0.0.1',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ].join(',');
  const signed = (name: string, subj: string, ext: string[]) =>
    mustExec('openssl', [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.crt`),
      '-subj',
      subj,
      ...DAYS,
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
  await Promise.all([
    signed('apiserver', '/CN=kube-apiserver', [
      `subjectAltName=${sans}`,
      'extendedKeyUsage=serverAuth',
      'keyUsage=critical,digitalSignature',
    ]),
    ...CLIENTS.map((c) =>
      signed(c.name, `${'org' in c ? `/O=${c.org}` : ''}/CN=${c.cn}`, [
        'extendedKeyUsage=clientAuth',
        'keyUsage=critical,digitalSignature',
        'basicConstraints=critical,CA:FALSE',
      ]),
    ),
    mustExec('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f('sa.key')]).then(() =>
      mustExec('openssl', ['pkey', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')]),
    ),
  ]);
}

/**
 * A kubeconfig for `client` with the CA, certificate and key inline, so the file works on its own
 * (copy it anywhere on this host). Server: {@link API_URL}.
 */
export async function kubeconfigFor(pkiDir: string, client: ClientName): Promise<string> {
  const b64 = async (n: string) => (await readFile(join(pkiDir, n))).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: authlab-kube',
    '  cluster:',
    `    server: ${API_URL}`,
    `    certificate-authority-data: ${await b64('ca.crt')}`,
    'users:',
    `- name: ${client}`,
    '  user:',
    `    client-certificate-data: ${await b64(`${client}.crt`)}`,
    `    client-key-data: ${await b64(`${client}.key`)}`,
    'contexts:',
    `- name: authlab-kube`,
    `  context: {cluster: authlab-kube, user: ${client}}`,
    'current-context: authlab-kube',
    '',
  ].join('\n');
}

/** Writes `<pki>/<client>.kubeconfig` for every client and returns their paths. */
export async function writeKubeconfigs(pkiDir: string): Promise<Record<ClientName, string>> {
  const out = {} as Record<ClientName, string>;
  for (const c of CLIENTS) {
    const path = join(pkiDir, `${c.name}.kubeconfig`);
    await writeFile(path, await kubeconfigFor(pkiDir, c.name), { mode: 0o600 });
    out[c.name] = path;
  }
  return out;
}
