import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** A peer's answer, read whole: a `/query` answer is a few hundred bytes. */
export interface Forwarded {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One request over `dispatcher` (an undici Pool) with a plain dispatch handler: the answer's bytes
 * are collected as they come and relayed as they are, with no body stream, no text decoding and no
 * re-encoding (the profile of the hop showed undici's body stream and the text round trip on every call).
 */
export function forward(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<Forwarded> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let length = 0;
    dispatcher.dispatch(options, {
      // Its presence selects undici's current handler interface (controller-based).
      onRequestStart() {},
      onResponseStart(_controller, statusCode, h) {
        status = statusCode;
        headers = h;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
        length += chunk.length;
      },
      onResponseEnd() {
        resolve({ status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length) });
      },
      onResponseError(_controller, err) {
        reject(err);
      },
    });
  });
}
