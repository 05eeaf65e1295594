import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { AuthlabError, type ErrorCode, httpStatus } from '../../protocol/errors.js';
import { excerpt } from '../../protocol/excerpt.js';
import type { RouteReply } from './fast-path.js';

/** Sends `{"error":{"code","message"}}` with the code's status. */
export function sendError<R extends RouteReply>(reply: R, code: ErrorCode, message: string): R {
  return reply.code(httpStatus(code)).type('application/json').send({ error: { code, message } }) as R;
}

/** Maps fastify's own errors (body parsing, limits) to the catalogue, so nothing leaks as a 500 with a stack. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AuthlabError, request, reply) => {
    if (err instanceof AuthlabError) return sendError(reply, err.code, err.message);
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(
          reply,
          'ERR_BODY_NOT_JSON',
          `The body is not valid JSON (${err.message.slice(0, 120)}); send {"query": "light", "params": {}}.`,
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the body as "Content-Type: application/json".');
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 'ERR_BODY_TOO_LARGE', 'The body is too large; a query body is a few hundred bytes.');
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, 'ERR_BAD_REQUEST', err.message.slice(0, 200));
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, 'ERR_INTERNAL', 'Internal error in the sidecar; see its log.');
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'ERR_NOT_FOUND', `No route ${request.method} ${excerpt(request.url)}; use POST /query or POST /call/<target>/query.`),
  );
}

/**
 * Fastify's router answers a bad percent-escape or an over-long path parameter itself, with its own
 * body quoting the whole path; this keeps the wire format and a short excerpt instead.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendError(reply, 'ERR_URL_TOO_LONG', `The path ${excerpt(request.url)} has a segment over 100 characters; a target is a service name.`);
  } else {
    sendError(reply, 'ERR_BAD_REQUEST', `The path ${excerpt(request.url)} is not a valid URL (check its percent-escapes).`);
  }
}

/**
 * Answers protocol-level errors Node raises before fastify sees a request; an oversized header gets
 * 431 with the JSON error body instead of a bare status line.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const code: ErrorCode = tooLarge ? 'ERR_HEADER_TOO_LARGE' : 'ERR_BAD_REQUEST';
  const message = tooLarge
    ? 'Request headers are too large (limit 16 KiB); an access token is well under 2 KiB.'
    : 'Malformed HTTP request.';
  const body = JSON.stringify({ error: { code, message } });
  const status = httpStatus(code);
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nServer-Timing: total;dur=0.000\r\nConnection: close\r\n\r\n${body}`,
  );
}
