import type { FastifyInstance } from 'fastify';
import { keepRawJson } from './fast-path.js';

/**
 * Replaces the JSON body parser with fastify's own default one (same limits, same refusals: empty
 * body, invalid JSON, `__proto__`/`constructor` poisoning) that also keeps the body's text, so
 * `/call` forwards the body it validated as received instead of re-stringifying the parsed object
 * (read with `rawJsonOf`, which the fast path's requests answer too).
 */
export function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    keepRawJson(request, body as string);
    parse(request, body as string, done);
  });
}
