/** Decoded remote-read data (prometheus/prompb remote.proto, types.proto): requests and responses. */
import type { Label, TimeSeries } from '../write/types.js';

/** ReadRequest.ResponseType, by its protobuf number: 0 SAMPLES, 1 STREAMED_XOR_CHUNKS. */
export const RESPONSE_TYPES = ['SAMPLES', 'STREAMED_XOR_CHUNKS'] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];

/** LabelMatcher.Type, by its protobuf number: 0 EQ, 1 NEQ, 2 RE, 3 NRE. */
export const MATCHER_TYPES = ['EQ', 'NEQ', 'RE', 'NRE'] as const;
export type MatcherType = (typeof MATCHER_TYPES)[number];

export interface LabelMatcher {
  type: MatcherType;
  name: string;
  value: string;
}

/** ReadHints: what PromQL will do with the data; advisory only. */
export interface ReadHints {
  stepMs: number;
  func: string;
  startMs: number;
  endMs: number;
  grouping: string[];
  by: boolean;
  rangeMs: number;
}

export interface Query {
  /** Inclusive bounds, milliseconds since the epoch. */
  startTimestampMs: number;
  endTimestampMs: number;
  matchers: LabelMatcher[];
  /** Present when the request carried a ReadHints message. */
  hints?: ReadHints;
}

export interface ReadRequest {
  queries: Query[];
  /** In the client's order of preference; empty means SAMPLES only. Unknown numbers are dropped. */
  acceptedResponseTypes: ResponseType[];
}

/** One QueryResult of a SAMPLES ReadResponse. */
export interface QueryResult {
  timeseries: TimeSeries[];
}

/** Chunk.Encoding, by its protobuf number. */
export const CHUNK_ENCODINGS = ['UNKNOWN', 'XOR', 'HISTOGRAM', 'FLOAT_HISTOGRAM'] as const;
export type ChunkEncoding = (typeof CHUNK_ENCODINGS)[number];

export interface Chunk {
  minTimeMs: number;
  maxTimeMs: number;
  type: ChunkEncoding;
  data: Uint8Array;
}

export interface ChunkedSeries {
  /** Sorted by name. */
  labels: Label[];
  chunks: Chunk[];
}

/** One frame of a STREAMED_XOR_CHUNKS response. */
export interface ChunkedReadResponse {
  series: ChunkedSeries[];
  queryIndex: number;
}
