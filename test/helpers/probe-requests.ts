/**
 * Remote-write bodies whose samples name the request they came from: request i carries series
 * s = 0..n-1 of `metric`, all at baseMs + i s, with value i * 1000 + s.
 */
import { encodeWriteRequest, snappyCompress, type TimeSeries } from '../../src/protocol/index.js';

export function probeBody(metric: string, job: string, series: number, i: number, baseMs: number): Buffer {
  const timeseries: TimeSeries[] = [];
  for (let s = 0; s < series; s++) {
    timeseries.push({
      labels: [
        { name: '__name__', value: metric },
        { name: 'job', value: job },
        { name: 's', value: String(s) },
      ],
      samples: [{ timestamp: baseMs + i * 1000, value: i * 1000 + s }],
      exemplars: [],
      histograms: [],
    });
  }
  return Buffer.from(snappyCompress(encodeWriteRequest({ timeseries, metadata: [] })));
}
