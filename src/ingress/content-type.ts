import type http from 'node:http';
import { PromfleetError } from '../errors.js';
import type { WireFormat } from '../queue/index.js';

const V1_PROTO = 'prometheus.writerequest';
const V2_PROTO = 'io.prometheus.write.v2.request';

/**
 * Content negotiation on /write (remote-write 2.0 specification, "Content-Type"): the message is
 * `application/x-protobuf` with `proto=prometheus.WriteRequest` (or no proto parameter, as
 * every 1.0 sender) for 1.0, and `proto=io.prometheus.write.v2.Request` for 2.0; the body is a
 * snappy block. Anything else is 415, so that a 2.0 sender can fall back to 1.0.
 *
 * @throws PromfleetError UNSUPPORTED_CONTENT_TYPE.
 */
export function writeFormat(req: http.IncomingMessage): WireFormat {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const [mime, ...params] = type.split(';').map((s) => s.trim());
  if (mime !== 'application/x-protobuf') {
    throw new PromfleetError('UNSUPPORTED_CONTENT_TYPE', `Content-Type "${type}" is not supported; expected application/x-protobuf`);
  }
  const proto = params.find((p) => p.startsWith('proto='))?.slice('proto='.length).replace(/^"(.*)"$/, '$1');
  if (proto === undefined || proto === V1_PROTO) return 1;
  if (proto === V2_PROTO) return 2;
  throw new PromfleetError('UNSUPPORTED_CONTENT_TYPE', `proto=${proto} is not supported; expected prometheus.WriteRequest or io.prometheus.write.v2.Request`);
}

/** @throws PromfleetError UNSUPPORTED_CONTENT_ENCODING unless the body is a snappy block. */
export function checkWriteEncoding(req: http.IncomingMessage): void {
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase().trim();
  if (encoding !== 'snappy') {
    throw new PromfleetError('UNSUPPORTED_CONTENT_ENCODING', `Content-Encoding "${encoding}" is not supported; expected snappy`);
  }
}
