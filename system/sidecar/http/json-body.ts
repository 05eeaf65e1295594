import type { FastifyInstance, FastifyRequest } from 'fastify';

const RAW_JSON = Symbol('raw-json');
type WithRawJson = FastifyRequest & { [RAW_JSON]?: string };

/**
 * Replaces the JSON body parser with fastify's own default one (same limits, same refusals: empty
 * body, invalid JSON, `__proto__`/`constructor` poisoning) that also keeps the body's text, so
 * `/call` forwards the body it validated as received instead of re-stringifying the parsed object.
 */
export function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    (request as WithRawJson)[RAW_JSON] = body as string;
    parse(request, body as string, done);
  });
}

/** The text of a JSON body parsed by {@link installJsonParser}; undefined for any other body. */
export function rawJsonBody(request: FastifyRequest): string | undefined {
  return (request as WithRawJson)[RAW_JSON];
}
