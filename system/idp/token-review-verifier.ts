import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { parseServiceAccountSubject, SA_TOKEN_AUDIENCE } from '../protocol/claims.js';
import { SubjectTokenError } from './subject-errors.js';
import type { SubjectTokenVerifier, VerifiedSubject } from './subject-verifier.js';

/** How the IdP reaches one cluster's TokenReview API. */
export interface TokenReviewCluster {
  /** Exact `iss` of the cluster's service-account tokens. */
  issuer: string;
  /** The apiserver's base URL, e.g. `https://10.96.77.1` from a pod or `https://10.244.77.1:16443` from the host. */
  apiServer: string;
  /** PEM of the CA that signed the apiserver's certificate (in a pod: `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`). */
  ca?: string;
  /**
   * File holding the bearer token the IdP authenticates with (its own projected service-account token,
   * which the kubelet rotates: it is re-read when older than `tokenFileMaxAgeMs`). Its service account
   * needs `system:auth-delegator` (create tokenreviews).
   */
  tokenFile?: string;
  /** Client certificate and key (PEM) instead of a bearer token, e.g. from a kubeconfig on the host. */
  clientCert?: { cert: string; key: string };
}

export interface TokenReviewVerifierOptions {
  cluster: TokenReviewCluster;
  /** Audience the token must be valid for, sent in every review. Default `authlab-idp`. */
  audience?: string;
  /** Timeout of one TokenReview, ms. Default 5000. */
  timeoutMs?: number;
  /** Largest accepted token, bytes. Default 8192. */
  maxTokenBytes?: number;
  /** How long a read bearer token is reused before the file is read again, ms. Default 60 000. */
  tokenFileMaxAgeMs?: number;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: { username?: string; uid?: string; extra?: Record<string, string[]> };
}

/** `exp` of a JWT's payload without verifying it (the apiserver has verified the token already). */
function unverifiedExp(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp : 0;
  } catch {
    return 0;
  }
}

/**
 * Asks the cluster's apiserver (`POST /apis/authentication.k8s.io/v1/tokenreviews`, always with the
 * audience: without it the apiserver checks its own audience and refuses) whether the service-account
 * token is valid now. Unlike a JWKS check it sees revocation at once: a token of a deleted service
 * account, or of a deleted pod it was bound to, is refused on the next exchange, not at its `exp`.
 * The price is one apiserver round trip per exchange (no cache, on purpose), over one keep-alive pool.
 */
export class TokenReviewVerifier implements SubjectTokenVerifier {
  private readonly cluster: TokenReviewCluster;
  private readonly audience: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly tokenMaxAgeMs: number;
  private readonly agent: Agent;
  private bearer: { value: string; readAt: number } | null = null;

  constructor(opts: TokenReviewVerifierOptions) {
    this.cluster = opts.cluster;
    this.audience = opts.audience ?? SA_TOKEN_AUDIENCE;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxBytes = opts.maxTokenBytes ?? 8192;
    this.tokenMaxAgeMs = opts.tokenFileMaxAgeMs ?? 60_000;
    this.agent = new Agent({
      connect: { ...(opts.cluster.ca ? { ca: opts.cluster.ca } : {}), ...(opts.cluster.clientCert ?? {}) },
      keepAliveTimeout: 30_000,
    });
  }

  async verify(token: string): Promise<VerifiedSubject> {
    if (typeof token !== 'string' || token.length === 0)
      throw new SubjectTokenError('invalid_request', 'missing', 'subject_token is empty: send the service-account JWT');
    if (Buffer.byteLength(token) > this.maxBytes) {
      throw new SubjectTokenError(
        'invalid_request',
        'oversized',
        `subject_token is ${Buffer.byteLength(token)} bytes; the limit is ${this.maxBytes}: send the projected service-account token itself`,
      );
    }
    const status = await this.review(token);
    if (!status.authenticated) {
      throw new SubjectTokenError(
        'invalid_grant',
        'review_refused',
        `the cluster's TokenReview refused subject_token${status.error ? `: ${status.error}` : ''}`,
      );
    }
    if (!status.audiences?.includes(this.audience)) {
      throw new SubjectTokenError(
        'invalid_grant',
        'wrong_audience',
        `subject_token audience must contain ${JSON.stringify(this.audience)}: mount a projected token with that audience`,
      );
    }
    const sub = status.user?.username ?? '';
    const parsed = parseServiceAccountSubject(sub);
    if (!parsed)
      throw new SubjectTokenError('invalid_grant', 'bad_subject', `subject_token belongs to ${JSON.stringify(sub)}, not a service account`);
    return {
      service: parsed.namespace,
      serviceAccount: parsed.serviceAccount,
      subject: sub,
      issuer: this.cluster.issuer,
      expiresAt: unverifiedExp(token),
    };
  }

  /** Closes the keep-alive connections to the apiserver. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  private async authorization(): Promise<Record<string, string>> {
    if (!this.cluster.tokenFile) return {};
    if (!this.bearer || Date.now() - this.bearer.readAt > this.tokenMaxAgeMs) {
      this.bearer = { value: (await readFile(this.cluster.tokenFile, 'utf8')).trim(), readAt: Date.now() };
    }
    return { authorization: `Bearer ${this.bearer.value}` };
  }

  private async review(token: string): Promise<TokenReviewStatus> {
    const url = `${this.cluster.apiServer.replace(/\/$/, '')}/apis/authentication.k8s.io/v1/tokenreviews`;
    const body = JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: [this.audience] },
    });
    let statusCode: number;
    let text: string;
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(await this.authorization()) },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      statusCode = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new SubjectTokenError(
        'temporarily_unavailable',
        'review_unavailable',
        `cannot reach the TokenReview API at ${url}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (statusCode === 401 || statusCode === 403) {
      this.bearer = null;
      throw new SubjectTokenError(
        'temporarily_unavailable',
        'review_forbidden',
        `the apiserver answered ${statusCode} to the IdP's TokenReview: bind the IdP's service account to the ClusterRole system:auth-delegator`,
      );
    }
    if (statusCode !== 201 && statusCode !== 200) {
      throw new SubjectTokenError(
        'temporarily_unavailable',
        'review_unavailable',
        `the TokenReview API answered HTTP ${statusCode}: ${text.slice(0, 200)}`,
      );
    }
    return ((JSON.parse(text) as { status?: TokenReviewStatus }).status ?? {}) as TokenReviewStatus;
  }
}
