import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTakeServer, type TakeServer } from '../../../test/support/fast-take.js';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../protocol/claims.js';
import { METRICS } from '../../protocol/metrics.js';
import type { IdpContext } from '../context.js';
import { createIdpMetrics } from '../metrics.js';
import { SubjectTokenError } from '../subject-errors.js';
import { TOKEN_PATH, tokenFastPath } from './token-exchange.js';

/**
 * Which requests the token endpoint's fast path takes. Its answers are compared with fastify's over a
 * real IdP in app.test.ts; here a server answers 299 for whatever the fast path declines (as fastify's
 * handler gets it in the IdP), and the subject-token verifier refuses every token, so a taken exchange
 * reads 400 invalid_grant without needing keys or a store.
 */
let taken: TakeServer;
let verified = 0;
const metrics = createIdpMetrics();
const ctx = {
  metrics,
  verifier: {
    verify: async () => {
      verified++;
      throw new SubjectTokenError('invalid_grant', 'malformed', 'subject_token is not a JWT; send the pod’s service-account token');
    },
  },
} as unknown as IdpContext;

beforeAll(async () => {
  const fast = tokenFastPath(ctx);
  taken = await startTakeServer(fast);
});
afterAll(() => taken?.close());
const send: TakeServer['send'] = (...args) => taken.send(...args);

const FORM = `grant_type=${encodeURIComponent(TOKEN_EXCHANGE_GRANT)}&subject_token=abc&subject_token_type=${encodeURIComponent(JWT_TOKEN_TYPE)}`;
const form = (body: string, extra: Record<string, string | number> = {}) => ({
  'content-type': 'application/x-www-form-urlencoded',
  'content-length': Buffer.byteLength(body),
  ...extra,
});
const counted = async (result: string) =>
  (await metrics.registry.getSingleMetric(METRICS.tokenResultTotal)!.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

describe('the IdP token endpoint on plain node:http', () => {
  it('takes a plain form POST /oauth2/token: the exchange runs and its RFC error comes back as fastify sends it, counted', async () => {
    const before = { verified, refused: await counted('invalid_subject') };
    const r = await send('POST', TOKEN_PATH, FORM, form(FORM));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({
      error: 'invalid_grant',
      error_description: 'subject_token is not a JWT; send the pod’s service-account token',
    });
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
    expect(r.headers['cache-control']).toBe('no-store');
    expect(verified).toBe(before.verified + 1);
    expect(await counted('invalid_subject')).toBe(before.refused + 1);
    // Upper case is the same media type.
    expect((await send('POST', TOKEN_PATH, FORM, form(FORM, { 'content-type': 'Application/X-WWW-Form-Urlencoded' }))).status).toBe(400);
  });

  it('refuses a broken form encoding before any verify, as invalid_request, counted', async () => {
    const before = { verified, refused: await counted('invalid_request') };
    const body = 'grant_type=%E0%A4%A&subject_token';
    const r = await send('POST', TOKEN_PATH, body, form(body));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({
      error: 'invalid_request',
      error_description: 'malformed request: body is not valid form encoding (bad percent-escape or UTF-8)',
    });
    expect(verified).toBe(before.verified);
    expect(await counted('invalid_request')).toBe(before.refused + 1);
  });

  it('declines, unread, every request that is not exactly that: fastify answers those as before', async () => {
    const cases: [string, string, string, Record<string, string | number>][] = [
      ['GET', TOKEN_PATH, '', {}],
      ['PUT', TOKEN_PATH, FORM, form(FORM)],
      ['POST', `${TOKEN_PATH}?x=1`, FORM, form(FORM)],
      ['POST', `${TOKEN_PATH}/`, FORM, form(FORM)],
      ['POST', '/oauth2/%74oken', FORM, form(FORM)],
      ['POST', TOKEN_PATH, FORM, form(FORM, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })],
      ['POST', TOKEN_PATH, FORM, form(FORM, { 'content-type': 'application/json' })],
      ['POST', TOKEN_PATH, FORM, { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' }],
      ['POST', TOKEN_PATH, 'x'.repeat(64 * 1024 + 1), form('x'.repeat(64 * 1024 + 1))],
    ];
    const before = verified;
    for (const [method, path, body, headers] of cases) {
      const r = await send(method, path, body, headers);
      expect({ method, path, headers, status: r.status, text: r.text }).toEqual({ method, path, headers, status: 299, text: 'fallback' });
    }
    expect(verified).toBe(before);
  });
});
