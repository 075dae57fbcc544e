/**
 * Prometheus wire formats: remote-write 1.0 and 2.0 (write/), remote-read requests and
 * responses (read/), and the encodings under both (wire/: varints, protobuf, snappy, CRC, label
 * bytes). Exports only what other folders use.
 */
export { DigestCache } from './write/digest-table.js';
export { decodeColumnar } from './write/columnar-decode.js';
export { checkDecodedLimits, type DecodeLimits } from './write/decode-limits.js';
export { decodeWriteRequest } from './write/remote-write-decode.js';
export { encodeWriteRequest, writeTimeSeries } from './write/remote-write-encode.js';
export { decodeWriteRequestV2 } from './write/remote-write-v2-decode.js';
export { encodeWriteRequestV2 } from './write/remote-write-v2-encode.js';
export { splitValidSeries, validateWriteRequest, type ValidateOptions } from './write/validate.js';
export { histogramProblem } from './write/validate-histogram.js';
export { withLabelIfAbsent, withoutLabel, withSeriesLabel } from './write/labels.js';
export { METRIC_TYPES } from './write/types.js';
export type { Exemplar, Histogram, Label, MetricMetadata, Sample, TimeSeries, WriteRequest } from './write/types.js';

export { decodeReadRequest, decodeReadResponse, type ReadDecodeLimits } from './read/remote-read-decode.js';
export { encodeReadRequest, encodeReadResponse } from './read/remote-read-encode.js';
export {
  decodeChunkedReadResponse, encodeChunkedFrame, encodeChunkedReadResponse, readChunkedFrames, xorChunkedSeries,
} from './read/read-frames.js';
export { encodeXorChunk } from './read/xor-chunk.js';
export { decodeXorChunk } from './read/xor-chunk-decode.js';
export { CHUNK_ENCODINGS } from './read/remote-read-types.js';
export type {
  Chunk, ChunkedReadResponse, ChunkedSeries, LabelMatcher, MatcherType, Query, QueryResult, ReadRequest, ResponseType,
} from './read/remote-read-types.js';

export { snappyBlock, snappyCompress, snappyDecompress, snappyFragment, snappyLiteral } from './wire/snappy.js';
export {
  bytesFieldSize, high32, labelBodySize, varint64Size, varintSize, writeLabelField, writeVarint, writeVarint64,
} from './wire/pb-write.js';
export { crc32c } from './wire/crc32c.js';
export { checkLabelRun, sameSpan, type HaLabelSpans } from './wire/label-bytes.js';
