/** Remote-write 1.0 and 2.0 wire formats: snappy block codec, request decode/encode, validation; remote read. */
export { snappyCompress, snappyDecompress } from './snappy.js';
export { decodeWriteRequest } from './remote-write-decode.js';
export { NO_DECODE_LIMITS, checkDecodedLimits, type DecodeLimits } from './decode-limits.js';
export { decodeColumnar, type ColumnarWriteRequest } from './columnar-decode.js';
export { labelBodySize, varintSize, writeLabelField, writeVarint } from './pb-write.js';
export { checkLabelRun, sameSpan, type HaLabelNames, type HaLabelSpans } from './label-bytes.js';
export { DigestCache, DigestTable } from './digest-table.js';
export { encodeWriteRequest } from './remote-write-encode.js';
export { decodeWriteRequestV2 } from './remote-write-v2-decode.js';
export { encodeWriteRequestV2 } from './remote-write-v2-encode.js';
export { splitValidSeries, validateWriteRequest } from './validate.js';
export type { SplitRequest } from './validate.js';
export { CUSTOM_BUCKETS_SCHEMA, histogramProblem, isFloatHistogram } from './validate-histogram.js';
export { withLabelIfAbsent, withoutLabel, withSeriesLabel } from './labels.js';
export type { ValidateOptions } from './validate.js';
export { METRIC_TYPES } from './types.js';
export type {
  BucketSpan, Exemplar, Histogram, Label, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest,
} from './types.js';
export { decodeReadRequest, decodeReadResponse, type ReadDecodeLimits } from './remote-read-decode.js';
export { encodeReadRequest, encodeReadResponse } from './remote-read-encode.js';
export {
  compressSeries, compressedReadResponse, encodeReadResponseFromSeries, encodeSeriesColumns, encodeSeriesObject, type CompressedSeries,
} from './samples-encode.js';
export { encodeXorChunk, cutXorChunks, MAX_SAMPLES_PER_CHUNK } from './xor-chunk.js';
export { decodeXorChunk } from './xor-chunk-decode.js';
export { crc32c } from './crc32c.js';
export {
  decodeChunkedReadResponse, encodeChunkedFrame, encodeChunkedReadResponse, frame, readChunkedFrames, xorChunkedSeries,
} from './read-frames.js';
export { DEFAULT_MAX_BYTES_IN_FRAME, seriesFrames } from './series-frames.js';
export { CHUNK_ENCODINGS, MATCHER_TYPES, RESPONSE_TYPES } from './remote-read-types.js';
export type {
  Chunk, ChunkEncoding, ChunkedReadResponse, ChunkedSeries, LabelMatcher, MatcherType, Query, QueryResult, ReadHints,
  ReadRequest, ResponseType,
} from './remote-read-types.js';
export { DEFAULT_CHUNK_RANGE_MS, headChunkStarts, prometheusXorChunks, rangeStart } from './head-chunk-cuts.js';
