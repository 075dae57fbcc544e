/**
 * Decoder of remote-read `prometheus.ReadRequest` (prometheus/prompb remote.proto) on
 * protobufjs's low-level Reader, in the style of remote-write-decode.ts: unknown fields are
 * skipped; a known field with the wrong wire type, a truncation, a length running past its
 * message, an unknown matcher type or a string that is not UTF-8 is BAD_PROTOBUF with a one-line
 * reason naming the query. Unknown accepted_response_types numbers are dropped (a newer client
 * may offer more types; the server answers with one it knows).
 */
import { PromfleetError } from '../../errors.js';
import { MATCHER_TYPES, RESPONSE_TYPES } from './remote-read-types.js';
import type { LabelMatcher, Query, QueryResult, ReadHints, ReadRequest, ResponseType } from './remote-read-types.js';
import { type ByteReader, createReader, enter, leave, readStringOrNull, skipUnexpected } from '../wire/pb-reader.js';
import { decodeWriteRequest } from '../write/remote-write-decode.js';
import { readInt64 } from '../wire/varint.js';

const READ_REQUEST_FIELDS: readonly string[] = ['', 'queries', 'accepted_response_types'];
const QUERY_FIELDS: readonly string[] = ['', 'start_timestamp_ms', 'end_timestamp_ms', 'matchers', 'hints'];
const MATCHER_FIELDS: readonly string[] = ['', 'type', 'name', 'value'];
const HINTS_FIELDS: readonly string[] = ['', 'step_ms', 'func', 'start_ms', 'end_ms', 'grouping', 'by', 'range_ms'];
const READ_RESPONSE_FIELDS: readonly string[] = ['', 'results'];

/** Where the decoder is, for error messages ("query 2 matchers[1]"). */
let at = '';

/** Counts a client may not exceed; checked while decoding, so nothing past them is allocated. */
export interface ReadDecodeLimits {
  /** Queries in the request. */
  readonly maxQueries: number;
  /** Matchers plus hint grouping labels in one query. */
  readonly maxMatchers: number;
}

const NO_READ_LIMITS: ReadDecodeLimits = { maxQueries: Infinity, maxMatchers: Infinity };
let limits = NO_READ_LIMITS;

function tooManyMatchers(): never {
  throw new PromfleetError('LIMIT_READ_MATCHERS', `${at}: more than ${limits.maxMatchers} matchers and grouping labels (--web.read-max-matchers)`);
}

function readString(r: ByteReader, what: string): string {
  const s = readStringOrNull(r, what);
  if (s === null) throw new RangeError(`${what} is not valid UTF-8`);
  return s;
}

function readEnum(r: ByteReader): number {
  // int32 enums: negative values arrive as 10-byte varints; readInt64 keeps them exact.
  return readInt64(r);
}

function readMatcher(r: ByteReader): LabelMatcher {
  const outer = enter(r, 'LabelMatcher');
  let type = 0;
  let name = '';
  let value = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x08) type = readEnum(r);
    else if (tag === 0x12) name = readString(r, 'matcher name');
    else if (tag === 0x1a) value = readString(r, 'matcher value');
    else skipUnexpected(r, tag, 'LabelMatcher', MATCHER_FIELDS);
  }
  leave(r, outer);
  const t = MATCHER_TYPES[type];
  if (t === undefined) throw new RangeError(`matcher type ${type} is not EQ (0), NEQ (1), RE (2) or NRE (3)`);
  return { type: t, name, value };
}

function readHints(r: ByteReader): ReadHints {
  const outer = enter(r, 'ReadHints');
  const h: ReadHints = { stepMs: 0, func: '', startMs: 0, endMs: 0, grouping: [], by: false, rangeMs: 0 };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 0x08: h.stepMs = readInt64(r); break;
      case 0x12: h.func = readString(r, 'hints func'); break;
      case 0x18: h.startMs = readInt64(r); break;
      case 0x20: h.endMs = readInt64(r); break;
      case 0x2a:
        if (h.grouping.push(readString(r, 'hints grouping')) > limits.maxMatchers) tooManyMatchers();
        break;
      case 0x30: h.by = readInt64(r) !== 0; break;
      case 0x38: h.rangeMs = readInt64(r); break;
      default: skipUnexpected(r, tag, 'ReadHints', HINTS_FIELDS);
    }
  }
  leave(r, outer);
  return h;
}

function readQuery(r: ByteReader): Query {
  const outer = enter(r, 'Query');
  const q: Query = { startTimestampMs: 0, endTimestampMs: 0, matchers: [] };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x08) q.startTimestampMs = readInt64(r);
    else if (tag === 0x10) q.endTimestampMs = readInt64(r);
    else if (tag === 0x1a) {
      const base = at;
      at = `${base} matchers[${q.matchers.length}]`;
      if (q.matchers.push(readMatcher(r)) > limits.maxMatchers) tooManyMatchers();
      at = base;
    } else if (tag === 0x22) {
      const base = at;
      at = `${base} hints`;
      q.hints = readHints(r);
      at = base;
    } else skipUnexpected(r, tag, 'Query', QUERY_FIELDS);
  }
  leave(r, outer);
  return q;
}

/** Known types, each once: a body repeating a type millions of times adds nothing. */
function pushResponseType(out: ResponseType[], n: number): void {
  const t = RESPONSE_TYPES[n];
  if (t !== undefined && !out.includes(t)) out.push(t);
}

/**
 * Decodes an uncompressed ReadRequest.
 *
 * @param readLimits counts refused while decoding (default: none).
 * @throws PromfleetError BAD_PROTOBUF with a one-line reason, LIMIT_READ_QUERIES or LIMIT_READ_MATCHERS.
 */
export function decodeReadRequest(buf: Uint8Array, readLimits: ReadDecodeLimits = NO_READ_LIMITS): ReadRequest {
  const r = createReader(buf);
  const req: ReadRequest = { queries: [], acceptedResponseTypes: [] };
  at = 'ReadRequest';
  limits = readLimits;
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 0x0a) {
        if (req.queries.length >= readLimits.maxQueries) {
          throw new PromfleetError('LIMIT_READ_QUERIES', `more than ${readLimits.maxQueries} queries in one request (--web.read-max-queries)`);
        }
        at = `query ${req.queries.length}`;
        req.queries.push(readQuery(r));
        at = 'ReadRequest';
      } else if (tag === 0x10) {
        pushResponseType(req.acceptedResponseTypes, readEnum(r));
      } else if (tag === 0x12) {
        at = 'ReadRequest accepted_response_types';
        const outer = enter(r, 'accepted_response_types');
        while (r.pos < r.len) pushResponseType(req.acceptedResponseTypes, readEnum(r));
        leave(r, outer);
        at = 'ReadRequest';
      } else skipUnexpected(r, tag, 'ReadRequest', READ_REQUEST_FIELDS);
    }
  } catch (err) {
    if (err instanceof PromfleetError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new PromfleetError('BAD_PROTOBUF', `${at}: ${reason.split('\n')[0]}`, { cause: err });
  } finally {
    limits = NO_READ_LIMITS;
  }
  return req;
}

/**
 * Decodes an uncompressed SAMPLES ReadResponse (for tests and clients). A QueryResult has the
 * wire shape of a WriteRequest without metadata, so its TimeSeries go through the write decoder.
 *
 * @throws PromfleetError BAD_PROTOBUF.
 */
export function decodeReadResponse(buf: Uint8Array): QueryResult[] {
  const r = createReader(buf);
  const out: QueryResult[] = [];
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 0x0a) {
        const outer = enter(r, 'QueryResult');
        const body = r.buf.subarray(r.pos, r.len);
        r.pos = r.len;
        leave(r, outer);
        const decoded = decodeWriteRequest(body);
        if (decoded.metadata.length > 0) throw new RangeError(`QueryResult ${out.length} has a field 3`);
        out.push({ timeseries: decoded.timeseries });
      } else skipUnexpected(r, tag, 'ReadResponse', READ_RESPONSE_FIELDS);
    }
  } catch (err) {
    if (err instanceof PromfleetError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new PromfleetError('BAD_PROTOBUF', `ReadResponse result ${out.length}: ${reason.split('\n')[0]}`, { cause: err });
  }
  return out;
}
