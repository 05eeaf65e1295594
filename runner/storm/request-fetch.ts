import { request } from 'undici';
import type { FetchLike } from '../../system/sidecar/token/index.js';

/**
 * The `fetch` the storm hands to the sidecar's `createExchangeFetch`: undici's `request` behind the
 * same WHATWG-shaped interface. 10,000 token sources share one process with the harness, and WHATWG
 * `fetch` costs the harness several times more CPU per exchange than `request` does, CPU that the
 * IdP (on the same 2 cores) would otherwise lose. The exchange logic itself stays the sidecar's.
 */
export const requestFetch: FetchLike = async (url, init) => {
  const res = await request(url, {
    method: init.method as 'POST',
    headers: init.headers,
    body: init.body,
    ...(init.dispatcher ? { dispatcher: init.dispatcher } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: {
      get(name: string) {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    text: async () => text,
  };
};
