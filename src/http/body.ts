import type http from 'node:http';
import { PromfleetError } from '../errors.js';
import { chargeBody } from './body-budget.js';

/**
 * Reads a request body up to maxBytes. A Content-Length over the limit is refused before any
 * byte is read (the caller answers 413 at once, so the client sees it); a chunked body is cut
 * off as soon as it passes the limit.
 */
export function checkDeclaredLength(req: http.IncomingMessage, maxBytes: number): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new PromfleetError('BODY_TOO_LARGE', `Content-Length ${declared} exceeds the limit of ${maxBytes} bytes`);
  }
}

export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  checkDeclaredLength(req, maxBytes);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      try {
        if (size > maxBytes) throw new PromfleetError('BODY_TOO_LARGE', `body exceeds the limit of ${maxBytes} bytes`);
        chargeBody(req, chunk.length);
      } catch (err) {
        req.off('data', onData);
        req.pause();
        reject(err);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.once('error', reject);
    // 'close' also follows a complete body; only an incomplete one means the client went away.
    req.once('close', () => {
      if (!req.complete) reject(new Error('client aborted the request'));
    });
  });
}
