/** Remote-write 1.0 wire format: snappy block codec, WriteRequest decode/encode, validation. */
export { snappyCompress, snappyDecompress } from './snappy.js';
export { decodeWriteRequest } from './remote-write-decode.js';
export { encodeWriteRequest } from './remote-write-encode.js';
export { validateWriteRequest } from './validate.js';
export { withoutLabel } from './labels.js';
export type { ValidateOptions } from './validate.js';
export { METRIC_TYPES } from './types.js';
export type {
  BucketSpan, Exemplar, Histogram, Label, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest,
} from './types.js';
