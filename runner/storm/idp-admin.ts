import { randomBytes } from 'node:crypto';
import { request, type Dispatcher } from 'undici';

/** A new random admin bearer token (the IdP compares it in constant time). */
export function newAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The IdP's admin API, as the storm needs it: TTL setting, one group of callers, one grant. */
export interface IdpAdmin {
  setTokenTtl(ttlSeconds: number): Promise<void>;
  putGroup(group: string, members: string[]): Promise<void>;
  putGrant(caller: string, target: string, roles: string[]): Promise<void>;
  /** `token_endpoint` from `/.well-known/openid-configuration` (clients discover URLs, never guess). */
  tokenEndpoint(): Promise<string>;
}

export function idpAdmin(idpUrl: string, adminToken: string, dispatcher?: Dispatcher): IdpAdmin {
  const call = async (method: 'GET' | 'PUT', path: string, body?: unknown): Promise<unknown> => {
    const res = await request(new URL(path, idpUrl), {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(dispatcher ? { dispatcher } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new Error(`IdP ${method} ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    return text ? (JSON.parse(text) as unknown) : null;
  };
  return {
    async setTokenTtl(ttlSeconds) {
      await call('PUT', '/admin/settings', { global: { tokenTtlSeconds: ttlSeconds } });
    },
    async putGroup(group, members) {
      await call('PUT', '/admin/groups', { group, members });
    },
    async putGrant(caller, target, roles) {
      await call('PUT', '/admin/grants', { caller, target, roles });
    },
    async tokenEndpoint() {
      const doc = (await call('GET', '/.well-known/openid-configuration')) as { token_endpoint?: unknown } | null;
      if (!doc || typeof doc.token_endpoint !== 'string') {
        throw new Error(`IdP ${idpUrl} discovery document has no token_endpoint`);
      }
      return doc.token_endpoint;
    },
  };
}
