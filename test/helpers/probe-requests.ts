/**
 * Remote-write bodies whose samples name the request they came from: request i carries series
 * s = 0..n-1 of `metric`, all at baseMs + i s, with value i * 1000 + s.
 */
import { request, type Dispatcher } from 'undici';
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

/** One attempt of deliverLikePrometheus, besides its status. */
export interface AttemptDetail {
  /** Date.now() when the attempt was sent. */
  readonly sentAt: number;
  /** The answer's Retry-After header, if any. */
  readonly retryAfter?: string;
}

/**
 * Posts one remote-write body the way Prometheus does: the same bytes again after a 5xx, a 429
 * or a connection error (backoff doubling to 1 s), giving up on any other 4xx, at most
 * maxAttempts times. onAttempt hears every attempt's status code, or the error code (status 0),
 * with when the attempt was sent and its Retry-After header.
 */
export async function deliverLikePrometheus(
  url: string, payload: Buffer, dispatcher: Dispatcher, maxAttempts: number,
  onAttempt: (outcome: string, status: number, detail: AttemptDetail) => void,
): Promise<{ status: number; attempts: number }> {
  let backoff = 50;
  let status = 0;
  let attempts = 0;
  while (attempts < maxAttempts) {
    attempts++;
    const sentAt = Date.now();
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher,
        body: payload,
        headers: {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-prometheus-remote-write-version': '0.1.0',
          'user-agent': 'promfleet-test/1',
        },
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await res.body.dump();
      status = res.statusCode;
      const retryAfter = res.headers['retry-after'];
      onAttempt(String(status), status, { sentAt, retryAfter: Array.isArray(retryAfter) ? retryAfter.join(',') : retryAfter });
      if (status >= 200 && status < 300) break;
      // Prometheus drops a batch on 4xx (other than 429): so does this client.
      if (status < 500 && status !== 429) break;
    } catch (err) {
      status = 0;
      onAttempt((err as { code?: string }).code ?? (err as Error).message, 0, { sentAt });
    }
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 1_000);
  }
  return { status, attempts };
}
