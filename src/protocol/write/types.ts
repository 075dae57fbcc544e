/**
 * Decoded remote-write data, the shape shared by ingress, queue and worker. Remote-write 1.0 and
 * 2.0 bodies both decode into it (2.0's per-series metadata becomes per-family metadata).
 */

export interface Label {
  name: string;
  value: string;
}

export interface Sample {
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

export interface Exemplar {
  labels: Label[];
  value: number;
  timestamp: number;
}

export interface BucketSpan {
  offset: number;
  length: number;
}

/** A native histogram as in prometheus/prompb/types.proto (integer or float flavour). */
export interface Histogram {
  /** Integer histograms set countInt/zeroCountInt and deltas; float ones countFloat/zeroCountFloat and counts. */
  countInt?: number;
  countFloat?: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCountInt?: number;
  zeroCountFloat?: number;
  negativeSpans: BucketSpan[];
  negativeDeltas: number[];
  negativeCounts: number[];
  positiveSpans: BucketSpan[];
  positiveDeltas: number[];
  positiveCounts: number[];
  /** 0 unknown, 1 yes, 2 no, 3 gauge. */
  resetHint: number;
  timestamp: number;
  /**
   * Schema -53 (custom buckets): the upper bounds of the buckets, ascending; positive span
   * indexes point into it (the index equal to its length is the +Inf bucket). Absent otherwise.
   */
  customValues?: number[];
}

export interface TimeSeries {
  /** Sorted by name, unique names. */
  labels: Label[];
  samples: Sample[];
  exemplars: Exemplar[];
  histograms: Histogram[];
  /**
   * The created (start) timestamp of the series' counter or histogram, ms; absent when not sent.
   * Remote-write 2.0 carries it (TimeSeries.created_timestamp, or Sample/Histogram
   * start_timestamp); remote-write 1.0 cannot.
   */
  createdTimestamp?: number;
}

export const METRIC_TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export interface MetricMetadata {
  type: MetricType;
  metricFamilyName: string;
  help: string;
  unit: string;
}

export interface WriteRequest {
  timeseries: TimeSeries[];
  metadata: MetricMetadata[];
}
