import type { IdentityIssuer } from '../../../system/identity/issuer.js';
import {
  mintAll,
  prepareStormIdp,
  STORM_GROUP,
  stormServiceName,
  type StormEnvironment,
  type StormEnvironmentOptions,
} from '../../storm/environment.js';
import { sendJson } from '../local/http.js';

/** The `iss` of the storm's tokens on the kube platform: a name only, its keys are in the IdP's config. */
export const KUBE_STORM_ISSUER = 'https://token-storm.authlab.invalid';

/**
 * The token storm on the kube platform's own IdP (the pod in authlab-system, reached at its ClusterIP
 * from the node): the IdP trusts `issuer` through the inline JWKS it was deployed with, so this only
 * adds the storm's group and grant and sets the token TTL; `close()` deletes the group (and with it
 * the grant) and puts the TTL back. No pair carries load during a storm.
 */
export async function kubeStormEnvironment(
  /** `tokenEndpoint`: the IdP's Go token plane as this host reaches it (`--data-plane go`). */
  idp: { url: string; adminToken: string; tokenEndpoint?: string },
  issuer: IdentityIssuer,
  opts: StormEnvironmentOptions,
): Promise<StormEnvironment> {
  const log = opts.log ?? (() => {});
  const admin = <T>(method: string, path: string, body?: unknown) => sendJson<T>(method, `${idp.url}${path}`, idp.adminToken, body);
  const before = await admin<{ global: { tokenTtlSeconds: number } }>('GET', '/admin/settings');
  const ttlBefore = before.global.tokenTtlSeconds;
  const names = Array.from({ length: opts.services }, (_, i) => stormServiceName(i));
  let abandoned = false;
  const minting = mintAll(issuer, names, opts.subjectTtlSeconds, () => abandoned);
  minting.catch(() => {}); // awaited below
  const close = async () => {
    abandoned = true;
    await admin('DELETE', '/admin/groups', { group: STORM_GROUP }).catch((err: Error) => {
      if (!/ERR_NOT_FOUND|404/.test(err.message)) throw err;
    });
    await admin('PUT', '/admin/settings', { global: { tokenTtlSeconds: ttlBefore } });
    log(`storm: group ${STORM_GROUP} removed, token TTL back to ${ttlBefore} s on the cluster's IdP`);
  };
  try {
    const tokenEndpoint = await prepareStormIdp(idp, names, opts.ttlSeconds);
    const subjectTokens = await minting;
    log(`storm: ${names.length} SA tokens minted by ${issuer.issuer}; the cluster's IdP at ${idp.url} takes the storm at ${tokenEndpoint}`);
    return { kind: 'platform', idpUrl: idp.url, tokenEndpoint, adminToken: idp.adminToken, subjectTokens, close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
