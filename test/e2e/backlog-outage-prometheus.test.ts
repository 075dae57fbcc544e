/**
 * The backlog bound passed while the database is away. Debian's Prometheus
 * 2.42, scraping itself and node_exporter every second, remote_writes to `promfleet all` with a
 * small `--queue.max-backlog-samples` (a few seconds of its samples); PostgreSQL (the test's own)
 * is stopped for 20 s. Once the backlog passes the bound, promfleet answers 503 QUEUE_FULL with
 * Retry-After and Prometheus retries (it keeps the data in its WAL; nothing failed). After
 * PostgreSQL is back, the series in PostgreSQL are complete over the outage: over a window from
 * before it to after it, several series equal Prometheus's own raw samples, and no stored series
 * has a gap longer than 2 scrape intervals.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { REMOTE_WRITE_HEADERS } from '../helpers/ha-load.js';
import { waitFor } from '../helpers/ports.js';
import { readyStatus, startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { startNodeExporter, startPrometheus, type NodeExporter, type PrometheusProcess, type RawSeries } from '../helpers/prometheus.js';
import { redisUrl, uniqueName } from '../helpers/services.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-pg.js';
import { dropOrKeep, sleep, storedInWindow, tail, valueKey } from './support.js';

const SCRAPE_S = 1;
const INTERVAL_MS = SCRAPE_S * 1000;
/** A few seconds of what Prometheus sends (≈ 1000 samples per scrape round here). */
const MAX_BACKLOG = 5_000;
const BEFORE_OUTAGE_MS = 12_000;
const OUTAGE_MS = 20_000;
/** Series compared; each selector must match at least one series. */
const SELECTORS = [
  'up{job="prometheus"}',
  'up{job="node"}',
  'prometheus_tsdb_head_series',
  'process_resident_memory_bytes{job="prometheus"}',
  'scrape_duration_seconds{job="node"}',
  'node_load1',
  'node_memory_MemAvailable_bytes',
  'node_cpu_seconds_total{mode="idle"}',
];

/** Sum of every sample of a metric (all label sets) in a Prometheus text exposition. */
function metricSum(text: string, name: string, labelFilter?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labelFilter !== undefined && !line.includes(labelFilter)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isNaN(v)) sum += v;
  }
  return sum;
}

async function metricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}


/**
 * A write of our own, to see the answer promfleet gives while the bound is passed. It holds more
 * samples than Prometheus sends at once (max_samples_per_send 500), so once a batch of
 * Prometheus's was refused, this one does not fit in what is left under the bound either.
 */
const PROBE_SAMPLES = 1_000;
async function probe(url: string): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const now = Date.now();
  const payload = snappyCompress(encodeWriteRequest({
    timeseries: Array.from({ length: PROBE_SAMPLES }, (_, i) => ({
      labels: [{ name: '__name__', value: 'backlog_probe' }, { name: 'i', value: String(i) }, { name: 'job', value: 'probe' }],
      samples: [{ value: 1, timestamp: now }], exemplars: [], histograms: [],
    })),
    metadata: [],
  }));
  const res = await fetch(`${url}/write`, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: new Uint8Array(payload), signal: AbortSignal.timeout(5_000) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

interface Compared { selector: string; labels: Record<string, string>; samples: string[] }

describe('Prometheus 2.42 through promfleet all while PostgreSQL is away and the backlog bound is passed', () => {
  let server: ThrowawayPostgres | undefined;
  let prefix = '';
  let promfleet: PromfleetProcess | undefined;
  let exporter: NodeExporter | undefined;
  let prom: PrometheusProcess | undefined;
  let client: pg.Client | undefined;
  let passed = false;

  beforeAll(async () => {
    server = await startThrowawayPostgres();
    prefix = uniqueName('pfbacklog');
    promfleet = await startPromfleet('all', [
      `--pg.url=${server.url}`, `--queue.prefix=${prefix}`, `--redis.url=${redisUrl()}`,
      '--storage.timescaledb=false', `--queue.max-backlog-samples=${MAX_BACKLOG}`, '--shutdown.timeout=10s',
    ]);
    const pf = promfleet;
    await waitFor(`${pf.url}/readyz`, async () => (await readyStatus(pf.url)) === 200, 60_000, 100);
    exporter = await startNodeExporter();
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await exporter?.stop();
    await client?.end().catch(() => undefined);
    const code = await promfleet?.stop('SIGTERM', 20_000);
    const pgLog = passed ? '' : ((await server?.log()) ?? '');
    await dropOrKeep(passed, {
      name: 'backlog-outage-prometheus', db: undefined, prefix,
      outputs: [
        [`promfleet (exit ${String(code)})`, tail(promfleet?.output() ?? '')],
        ['prometheus', tail(prom?.output() ?? '')],
        ['postgres', tail(pgLog)],
      ],
    });
    await server?.destroy();
  }, 90_000);

  it('answers 503 QUEUE_FULL past the bound, and PostgreSQL holds every scraped sample over the outage', async () => {
    const pf = promfleet!;
    const pgServer = server!;
    prom = await startPrometheus({
      name: 'promfleet-backlog',
      remoteWriteUrl: `${pf.url}/write`,
      scrapeTargets: [exporter!.target],
      scrapeIntervalS: SCRAPE_S,
    });
    const p = prom;
    const startedAt = Date.now();
    await sleep(BEFORE_OUTAGE_MS);

    // The outage: the bound is passed, promfleet refuses with 503 QUEUE_FULL + Retry-After.
    const outageStart = Date.now();
    await pgServer.stop();
    let firstFullAfterMs = -1;
    let refusal: { status: number; retryAfter: string | null; body: string } | undefined;
    for (let k = 0; k < OUTAGE_MS / 250 && Date.now() < outageStart + OUTAGE_MS; k++) {
      if (firstFullAfterMs < 0 && metricSum(await metricsText(pf.url), 'promfleet_rejected_requests_total', 'reason="QUEUE_FULL"') > 0) {
        firstFullAfterMs = Date.now() - outageStart;
      }
      if (firstFullAfterMs >= 0 && refusal?.status !== 503) refusal = await probe(pf.url);
      await sleep(250);
    }
    await sleep(outageStart + OUTAGE_MS - Date.now());
    await pgServer.start();
    const outageEnd = Date.now();

    expect(firstFullAfterMs, 'promfleet answered QUEUE_FULL during the outage').toBeGreaterThanOrEqual(0);
    expect(refusal?.status).toBe(503);
    expect(refusal?.retryAfter).toMatch(/^\d+$/);
    expect(refusal?.body).toMatch(/^QUEUE_FULL/);

    // Recovery, by itself.
    await waitFor(`${pf.url}/readyz 200 after the outage`, async () => (await readyStatus(pf.url)) === 200, 60_000, 200);
    const readyAfterMs = Date.now() - outageEnd;

    // A window from before the outage to well after it, fully scraped by the time we look.
    const windowStart = Math.max(startedAt + 4_000, outageStart - 6_000);
    const windowEnd = outageEnd + 8_000;
    await sleep(windowEnd + 3_000 - Date.now());

    const expected: RawSeries[] = [];
    for (const selector of SELECTORS) {
      const found = await p.rawSamples(selector, windowStart, windowEnd);
      expect(found.length, `Prometheus has no series for ${selector}`).toBeGreaterThan(0);
      for (const s of found) {
        expect(s.samples.length, `${selector}: samples in window`).toBeGreaterThanOrEqual(((windowEnd - windowStart) / INTERVAL_MS) * 0.8);
        expected.push(s);
      }
    }
    expect(expected.length).toBeGreaterThanOrEqual(5);
    const want: Compared[] = expected.map((s) => {
      const { __name__: name, ...labels } = s.labels;
      return { selector: name ?? '', labels, samples: s.samples.map((x) => `${x.timeMs} ${valueKey(x.value)}`) };
    });

    client = new pg.Client({ connectionString: pgServer.url });
    await client.connect();
    const c = client;
    async function stored(): Promise<{ got: Compared[]; times: number[][] }> {
      const got: Compared[] = [];
      const times: number[][] = [];
      for (const w of want) {
        const rows = await storedInWindow(c, w.selector, w.labels, windowStart, windowEnd);
        got.push({ selector: w.selector, labels: w.labels, samples: rows.map((r) => `${r.timeMs} ${valueKey(r.value)}`) });
        times.push(rows.map((r) => r.timeMs));
      }
      return { got, times };
    }
    // Prometheus catches up from its WAL once 503s stop; bounded wait for equality.
    let got: Compared[] = [];
    let times: number[][] = [];
    const waitStart = Date.now();
    await waitFor('PostgreSQL to hold the window', async () => {
      ({ got, times } = await stored());
      return JSON.stringify(got) === JSON.stringify(want);
    }, 60_000, 500).catch(() => undefined);
    const caughtUpMs = Date.now() - waitStart;
    expect(got).toEqual(want);

    // No gap longer than 2 scrape intervals in any compared stored series over the window.
    const gaps: string[] = [];
    times.forEach((list, k) => {
      expect(list[0], `${want[k]!.selector}: first sample near the window start`).toBeLessThanOrEqual(windowStart + 2 * INTERVAL_MS);
      expect(list[list.length - 1], `${want[k]!.selector}: last sample near the window end`).toBeGreaterThanOrEqual(windowEnd - 2 * INTERVAL_MS);
      for (let i = 1; i < list.length; i++) {
        if (list[i]! - list[i - 1]! > 2 * INTERVAL_MS) gaps.push(`${want[k]!.selector} ${JSON.stringify(want[k]!.labels)}: ${list[i]! - list[i - 1]!} ms after ${list[i - 1]}`);
      }
    });
    expect(gaps).toEqual([]);

    // Prometheus saw the refusals as retryable: retried, nothing failed (a 4xx would be a drop).
    const promMetrics = await metricsText(p.url);
    const retried = metricSum(promMetrics, 'prometheus_remote_storage_samples_retried_total');
    const failed = metricSum(promMetrics, 'prometheus_remote_storage_samples_failed_total');
    expect(retried).toBeGreaterThan(0);
    expect(failed).toBe(0);
    const pfMetrics = await metricsText(pf.url);
    const queueFull = metricSum(pfMetrics, 'promfleet_rejected_requests_total', 'reason="QUEUE_FULL"');
    expect(queueFull).toBeGreaterThan(0);
    const deadLetters = metricSum(pfMetrics, 'promfleet_dead_letter_batches_total');
    expect(deadLetters).toBe(0);

    const compared = want.reduce((n, s) => n + s.samples.length, 0);
    console.info(`outage ${outageEnd - outageStart} ms; QUEUE_FULL ${firstFullAfterMs} ms into it, ${queueFull} requests refused (Retry-After ${refusal?.retryAfter}); ` +
      `Prometheus retried ${retried} samples, failed ${failed}; ready ${readyAfterMs} ms after the restart; ` +
      `${want.length} series, ${compared} samples over ${((windowEnd - windowStart) / 1000).toFixed(1)} s equal (caught up ${caughtUpMs} ms after the window was due)`);
    passed = true;
  }, 150_000);
});
