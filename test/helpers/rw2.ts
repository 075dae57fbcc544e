/** Remote-write 2.0 requests as the compliance suite builds them: label maps, one sample or histogram per series. */
import { encodeWriteRequestV2, snappyCompress } from '../../src/protocol/index.js';
import type { Histogram, Label, TimeSeries, WriteRequest } from '../../src/protocol/index.js';

export const RW2_HEADERS = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
  'X-Prometheus-Remote-Write-Version': '2.0.0',
};

export const RW1_HEADERS = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

/** Labels in the map's order, unsorted as a Go map gives them (reversed, so never sorted by accident). */
export function labelsOf(map: Record<string, string>): Label[] {
  return Object.entries(map).map(([name, value]) => ({ name, value })).reverse();
}

export function sampleSeries(map: Record<string, string>, value: number, timestamp = Date.now()): TimeSeries {
  return { labels: labelsOf(map), samples: [{ value, timestamp }], exemplars: [], histograms: [] };
}

export function histogramSeries(map: Record<string, string>, h: Histogram): TimeSeries {
  return { labels: labelsOf(map), samples: [], exemplars: [], histograms: [h] };
}

/**
 * The compliance suite's test histogram: positive buckets (23 observations), negative (3), zero
 * bucket (1), or custom buckets (30); `badCount` claims 99.
 */
export function testHistogram(
  sum: number, o: { positive?: boolean; negative?: boolean; zero?: boolean; custom?: boolean; badCount?: boolean }, timestamp = Date.now(),
): Histogram {
  let count = 0;
  const h: Histogram = {
    countInt: 0, sum, schema: 0, zeroThreshold: 0, negativeSpans: [], negativeDeltas: [], negativeCounts: [],
    positiveSpans: [], positiveDeltas: [], positiveCounts: [], resetHint: 0, timestamp,
  };
  if (o.positive) {
    h.positiveSpans = [{ offset: 0, length: 3 }, { offset: 2, length: 2 }];
    h.positiveDeltas = [1, 2, 1, 3, 1];
    count += 23;
  }
  if (o.negative) {
    h.negativeSpans = [{ offset: 0, length: 2 }];
    h.negativeDeltas = [1, 1];
    count += 3;
  }
  if (o.zero) {
    h.zeroCountInt = 1;
    count++;
  }
  if (o.custom) {
    h.schema = -53;
    h.customValues = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0];
    h.positiveSpans = [{ offset: 0, length: 6 }];
    h.positiveDeltas = [2, 1, 2, 3, -1, -2];
    count = 30;
  }
  h.countInt = o.badCount ? 99 : count;
  return h;
}

export function rw2Body(req: WriteRequest): Buffer {
  return Buffer.from(snappyCompress(encodeWriteRequestV2(req)));
}

export interface WriteAnswer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  /** The three X-Prometheus-Remote-Write-*-Written headers (undefined when absent). */
  readonly written: { samples?: number; histograms?: number; exemplars?: number };
}

function header(h: Headers, what: string): number | undefined {
  const v = h.get(`X-Prometheus-Remote-Write-${what}-Written`);
  return v === null ? undefined : Number(v);
}

export async function postWrite(url: string, body: Uint8Array, headers: Record<string, string> = RW2_HEADERS): Promise<WriteAnswer> {
  const res = await fetch(`${url}/write`, { method: 'POST', headers, body: Buffer.from(body) });
  const text = await res.text();
  return {
    status: res.status, text, headers: res.headers,
    written: { samples: header(res.headers, 'Samples'), histograms: header(res.headers, 'Histograms'), exemplars: header(res.headers, 'Exemplars') },
  };
}
