import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { componentImages } from '../cluster/images/component-images.js';
import { importImages } from '../cluster/images/import.js';
import { clusterPaths, kubeCacheRoot } from '../cluster/paths.js';
import { API_URL } from '../cluster/topology.js';
import { IssuerRoutedVerifier } from '../system/idp/issuer-router.js';
import { JwksIssuerVerifier, SubjectTokenError } from '../system/idp/subject-verifier.js';
import { TokenReviewVerifier } from '../system/idp/token-review-verifier.js';
import { runAuthlab } from './support/cli.js';
import { acquireClusterLock, kubeSkipReason, readProjectedToken } from './support/kube.js';

// The IdP's two ways to check a service-account token, against a real apiserver: JWKS (offline,
// valid until exp) and TokenReview (asks the cluster, sees deletion at once).
const skip = await kubeSkipReason();
if (skip) console.warn(`SKIP test/kube-token-review.test.ts: ${skip}`);

const NS = 'authlab-tr-test';
const paths = clusterPaths();
let unlock: (() => Promise<void>) | undefined;
let core: CoreV1Api;
let ca: string;
let work: string;
let jwks: JwksIssuerVerifier;
let review: TokenReviewVerifier;

async function saToken(name: string, audiences: string[], expirationSeconds = 600): Promise<string> {
  const tr = await core.createNamespacedServiceAccountToken({ name, namespace: NS, body: { spec: { audiences, expirationSeconds } } });
  return tr.status?.token ?? '';
}

/**
 * Milliseconds until `verify` refuses `token` with `review_refused` (polled every 20 ms, up to 20 s).
 * Not 0: kube-apiserver caches a successful token authentication for 10 s (its built-in token cache,
 * no flag changes it), and it sees deletions through its informers.
 */
async function msUntilRefused(v: TokenReviewVerifier, token: string): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 20_000) {
    if ((await reason(v.verify(token))) === 'review_refused') return Math.round(performance.now() - t0);
    await sleep(20);
  }
  throw new Error('TokenReview kept accepting the token for 20 s');
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    if (err instanceof SubjectTokenError) return err.reason;
    throw err;
  }
}

describe.skipIf(!!skip)('subject-token verifiers against a real apiserver', () => {
  beforeAll(async () => {
    unlock = await acquireClusterLock();
    const up = await runAuthlab(['cluster', 'up'], {}, 900_000);
    expect(up.code, up.stderr).toBe(0);
    const kc = new KubeConfig();
    kc.loadFromFile(paths.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    ca = await readFile(join(paths.pki, 'ca.crt'), 'utf8');
    work = await mkdtemp(join(tmpdir(), 'authlab-tr-'));
    await core.createNamespace({ body: { metadata: { name: NS } } });
    for (const name of ['svc', 'idp', 'idp-unprivileged'])
      await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name } } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'authlab-tr-test:idp' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
        subjects: [{ kind: 'ServiceAccount', name: 'idp', namespace: NS }],
      },
    });
    // The IdP authenticates to the apiserver with its own (apiserver-audience) token, as in a pod.
    await writeFile(join(work, 'idp-token'), await saToken('idp', [API_URL]));
    const tlsAgent = new Agent({ connect: { ca } });
    jwks = new JwksIssuerVerifier({
      trustedIssuers: [{ issuer: API_URL, jwksUri: `${API_URL}/openid/v1/jwks` }],
      cacheSize: 0,
      fetch: ((u: string, i?: object) => undiciFetch(u, { ...i, dispatcher: tlsAgent })) as unknown as typeof fetch,
    });
    review = new TokenReviewVerifier({ cluster: { issuer: API_URL, apiServer: API_URL, ca, tokenFile: join(work, 'idp-token') } });
  }, 900_000);

  afterAll(async () => {
    await review?.close();
    if (work) await rm(work, { recursive: true, force: true });
    const down = await runAuthlab(['cluster', 'down'], {}, 120_000);
    expect(down.code, down.stderr).toBe(0);
    await unlock?.();
  }, 130_000);

  it('both verifiers accept a live service account token with audience authlab-idp, and name its namespace', async () => {
    const token = await saToken('svc', ['authlab-idp']);
    const viaJwks = await jwks.verify(token);
    const viaReview = await review.verify(token);
    for (const s of [viaJwks, viaReview]) {
      expect(s.service).toBe(NS);
      expect(s.subject).toBe(`system:serviceaccount:${NS}:svc`);
      expect(s.issuer).toBe(API_URL);
    }
    const routed = new IssuerRoutedVerifier(new Map([[API_URL, review]]));
    expect((await routed.verify(token)).serviceAccount).toBe('svc');
  });

  it('TokenReview refuses a token without the authlab-idp audience', async () => {
    expect(await reason(review.verify(await saToken('svc', [API_URL])))).toBe('review_refused');
    expect(await reason(jwks.verify(await saToken('svc', [API_URL])))).toBe('wrong_audience');
  });

  it('an IdP whose service account lacks system:auth-delegator gets a 503-class error that says what to bind', async () => {
    const file = join(work, 'unprivileged-token');
    await writeFile(file, await saToken('idp-unprivileged', [API_URL]));
    const v = new TokenReviewVerifier({ cluster: { issuer: API_URL, apiServer: API_URL, ca, tokenFile: file } });
    try {
      await expect(v.verify(await saToken('svc', ['authlab-idp']))).rejects.toMatchObject({
        oauthError: 'temporarily_unavailable',
        reason: 'review_forbidden',
        message: expect.stringMatching(/system:auth-delegator/),
      });
    } finally {
      await v.close();
    }
  });

  it('a pod gets a projected token with pod and node claims that both verifiers accept', async () => {
    const images = await componentImages(join(kubeCacheRoot(), 'images'), () => {});
    await importImages('ctr', paths, [images.idp]);
    const token = await readProjectedToken(core, { namespace: NS, pod: 'reader', serviceAccount: 'svc', image: images.idp.ref });
    expect(token).toMatch(/^ey/);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      aud: string[];
      'kubernetes.io': { pod: { name: string }; node: { name: string }; serviceaccount: { name: string } };
    };
    expect(claims.aud).toEqual(['authlab-idp']);
    expect(claims['kubernetes.io'].pod.name).toBe('reader');
    expect(claims['kubernetes.io'].node.name).toBe('authlab-node');
    expect((await review.verify(token)).service).toBe(NS);
    expect((await jwks.verify(token)).service).toBe(NS);

    // A bound token dies with its pod — for TokenReview. A JWKS check cannot know.
    await core.deleteNamespacedPod({ name: 'reader', namespace: NS, gracePeriodSeconds: 0 });
    for (let i = 0; i < 100; i++) {
      if (!(await core.readNamespacedPod({ name: 'reader', namespace: NS }).catch(() => undefined))) break;
      await sleep(200);
    }
    const ms = await msUntilRefused(review, token);
    console.log(`TokenReview refused the deleted pod's token ${ms} ms after the pod was gone`);
    expect(ms).toBeLessThan(12_000);
    expect(await reason(jwks.verify(token))).toBe('accepted');
  }, 240_000);

  it('deleting the service account: TokenReview refuses its token once the apiserver 10 s cache lapses, JWKS keeps accepting it until exp', async () => {
    const token = await saToken('svc', ['authlab-idp']);
    expect(await reason(review.verify(token))).toBe('accepted');
    await core.deleteNamespacedServiceAccount({ name: 'svc', namespace: NS });
    const ms = await msUntilRefused(review, token);
    console.log(`TokenReview refused the deleted service account's token ${ms} ms after deletion`);
    expect(ms).toBeLessThan(12_000);
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
    expect(await reason(jwks.verify(token))).toBe('accepted');
    console.log(`JWKS still accepts it; it expires in ${exp - Math.floor(Date.now() / 1000)} s`);
  });
});
