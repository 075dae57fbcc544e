/**
 * What the ingress cannot avoid a sample, beside its measured CPU: snappy decompression alone,
 * and snappy with promfleet's WriteRequest decoder, on one core, on bodies of the e2e's shape
 * (its node_exporter-shaped label sets, 500 series a request, one sample each). The rest of the
 * ingress's CPU is HTTP, validation, tagging and the enqueue.
 */
import { encodeLabels, encodeRequest } from '../src/loadgen/body.js';
import { loadSeries } from '../src/loadgen/series.js';
import { measureDecode } from './decode.js';

export interface IngressFloor {
  /** CPU µs a sample of snappy decompression alone. */
  readonly snappyUs: number;
  /** CPU µs a sample of snappy plus promfleet's decoder. */
  readonly decodeUs: number;
}

export function measureIngressFloor(series: number, msEach = 1500): IngressFloor {
  const labels = loadSeries({ series, external: { cluster: 'bench', __replica__: 'r0' } }).map(encodeLabels);
  const bodies: Buffer[] = [];
  const ts = Date.now();
  for (let from = 0; from < series; from += 500) {
    bodies.push(Buffer.from(encodeRequest(labels, from, Math.min(series, from + 500), ts, (s) => s * 0.5)));
  }
  const d = measureDecode(bodies, msEach);
  return { snappyUs: 1e6 / d.snappyOnly, decodeUs: 1e6 / d.promfleet };
}
