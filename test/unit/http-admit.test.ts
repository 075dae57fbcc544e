/** The processing cap: slots taken after the body, TOO_BUSY beyond, each released once. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVER_LIMITS, HttpServer } from '../../src/http/server.js';
import { Metrics } from '../../src/observability/metrics.js';

describe('HttpServer.admit', () => {
  it('admits up to --web.max-concurrent-requests, refuses the next with 503 TOO_BUSY, and counts a release once', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const server = new HttpServer({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), metrics, limits: { ...DEFAULT_SERVER_LIMITS, maxConcurrent: 2 } });
    const a = server.admit();
    const b = server.admit();
    expect(() => server.admit()).toThrow(expect.objectContaining({ code: 'TOO_BUSY', status: 503, retryable: true }));
    a();
    a();
    const c = server.admit();
    expect(() => server.admit()).toThrow(expect.objectContaining({ code: 'TOO_BUSY' }));
    b();
    c();
    expect((await metrics.registry.getSingleMetricAsString('promfleet_rate_limited_requests_total'))).toMatch(/limit="concurrency"} 2/);
    await server.stop();
  });
});
