/**
 * A scrape target exposing native histograms in the protobuf exposition format
 * (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited`),
 * which Prometheus 2.42 asks for with `--enable-feature=native-histograms`. Each scrape first
 * records a few more observations, so every scrape shows a grown histogram. A counter with an
 * exemplar (a new trace id each scrape) can be served next to it.
 *
 * io.prometheus.client: MetricFamily {1 name, 2 help, 3 type, 4 metric}; Metric {1 label,
 * 7 histogram}; Histogram {1 sample_count, 2 sample_sum, 5 schema, 6 zero_threshold,
 * 7 zero_count, 9 negative_span, 10 negative_delta, 12 positive_span, 13 positive_delta};
 * BucketSpan {1 offset, 2 length}; LabelPair {1 name, 2 value}; type HISTOGRAM = 4.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs/minimal.js';
import type { Writer } from 'protobufjs/minimal.js';

const CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
/** Go's client_golang default zero threshold (2^-128). */
export const DEFAULT_ZERO_THRESHOLD = 2.938735877055719e-39;

/** One native histogram series: integer counts per bucket index, as client_golang keeps them. */
export class NativeHistogram {
  count = 0;
  sum = 0;
  zeroCount = 0;
  readonly positive = new Map<number, number>();
  readonly negative = new Map<number, number>();

  constructor(readonly labels: Record<string, string>, readonly schema: number) {}

  /** The bucket index of |v|: bucket i holds (2^((i-1)/2^schema), 2^(i/2^schema)]. */
  private index(v: number): number {
    return Math.ceil(Math.log2(v) * 2 ** this.schema);
  }

  observe(v: number): void {
    this.count++;
    this.sum += v;
    if (Math.abs(v) <= DEFAULT_ZERO_THRESHOLD) this.zeroCount++;
    else {
      const m = v > 0 ? this.positive : this.negative;
      const i = this.index(Math.abs(v));
      m.set(i, (m.get(i) ?? 0) + 1);
    }
  }
}

/** Spans and deltas of one side, from bucket index → count. */
function spansAndDeltas(buckets: Map<number, number>): { spans: { offset: number; length: number }[]; deltas: number[] } {
  const indexes = [...buckets.keys()].sort((a, b) => a - b);
  const spans: { offset: number; length: number }[] = [];
  const deltas: number[] = [];
  let prevIndex = 0;
  let prevCount = 0;
  for (let k = 0; k < indexes.length; k++) {
    const i = indexes[k];
    if (k === 0) spans.push({ offset: i, length: 1 });
    else if (i === prevIndex + 1) spans[spans.length - 1].length++;
    else spans.push({ offset: i - prevIndex - 1, length: 1 });
    const c = buckets.get(i) ?? 0;
    deltas.push(c - prevCount);
    prevCount = c;
    prevIndex = i;
  }
  return { spans, deltas };
}

function writeSide(w: Writer, spanTag: number, deltaTag: number, buckets: Map<number, number>): void {
  const { spans, deltas } = spansAndDeltas(buckets);
  for (const s of spans) w.uint32(spanTag).fork().uint32(0x08).sint32(s.offset).uint32(0x10).uint32(s.length).ldelim();
  if (deltas.length > 0) {
    w.uint32(deltaTag).fork();
    for (const d of deltas) w.sint64(d);
    w.ldelim();
  }
}

/** One delimited MetricFamily of type HISTOGRAM. */
export function encodeFamily(name: string, help: string, series: readonly NativeHistogram[]): Uint8Array {
  const w = protobuf.Writer.create();
  w.fork();
  w.uint32(0x0a).string(name).uint32(0x12).string(help).uint32(0x18).int32(4);
  for (const h of series) {
    w.uint32(0x22).fork();
    for (const [k, v] of Object.entries(h.labels)) w.uint32(0x0a).fork().uint32(0x0a).string(k).uint32(0x12).string(v).ldelim();
    w.uint32(0x3a).fork();
    w.uint32(0x08).uint64(h.count).uint32(0x11).double(h.sum).uint32(0x28).sint32(h.schema);
    w.uint32(0x31).double(DEFAULT_ZERO_THRESHOLD).uint32(0x38).uint64(h.zeroCount);
    writeSide(w, 0x4a, 0x52, h.negative);
    writeSide(w, 0x62, 0x6a, h.positive);
    w.ldelim();
    w.ldelim();
  }
  w.ldelim();
  return w.finish();
}

/** An exemplar as the exposition format carries it (timestamp in ms). */
export interface ExposedExemplar {
  readonly labels: Record<string, string>;
  readonly value: number;
  readonly timestampMs: number;
}

/**
 * One delimited MetricFamily of type COUNTER with one metric and its exemplar.
 * Counter {1 value, 2 exemplar}; Exemplar {1 label, 2 value, 3 timestamp}; Timestamp {1 seconds, 2 nanos}.
 */
export function encodeCounterFamily(name: string, help: string, value: number, exemplar: ExposedExemplar): Uint8Array {
  const w = protobuf.Writer.create();
  w.fork();
  w.uint32(0x0a).string(name).uint32(0x12).string(help); // type COUNTER is 0, the default
  w.uint32(0x22).fork();
  w.uint32(0x1a).fork().uint32(0x09).double(value);
  w.uint32(0x12).fork();
  for (const [k, v] of Object.entries(exemplar.labels)) w.uint32(0x0a).fork().uint32(0x0a).string(k).uint32(0x12).string(v).ldelim();
  w.uint32(0x11).double(exemplar.value);
  const seconds = Math.floor(exemplar.timestampMs / 1000);
  w.uint32(0x1a).fork().uint32(0x08).int64(seconds).uint32(0x10).int32((exemplar.timestampMs - seconds * 1000) * 1_000_000).ldelim();
  w.ldelim();
  w.ldelim();
  w.ldelim();
  w.ldelim();
  return w.finish();
}

export interface HistogramTarget {
  /** host:port, as a scrape config names it. */
  readonly target: string;
  readonly scrapes: () => number;
  stop(): Promise<void>;
}

/**
 * Serves `family` on /metrics; before each answer, `observe` adds observations (it gets the
 * scrape number). Listens on a free loopback port.
 */
export async function startHistogramTarget(
  family: { name: string; help: string; series: NativeHistogram[] }, observe: (scrape: number) => void,
  /** More delimited families to serve after the histograms (given the scrape number). */
  extra?: (scrape: number) => Uint8Array,
): Promise<HistogramTarget> {
  let scrapes = 0;
  const server = http.createServer((req, res) => {
    observe(++scrapes);
    const parts = [Buffer.from(encodeFamily(family.name, family.help, family.series))];
    if (extra) parts.push(Buffer.from(extra(scrapes)));
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE }).end(Buffer.concat(parts));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  return {
    target: `127.0.0.1:${port}`,
    scrapes: () => scrapes,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return stopping;
    },
  };
}
