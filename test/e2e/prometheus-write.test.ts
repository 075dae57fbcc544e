/**
 * Debian's Prometheus 2.42, scraping itself and node_exporter every second,
 * remote_writes to `promfleet all` for over 30 s; over a window that has been fully flushed, the
 * samples PostgreSQL holds for several series equal, timestamp for timestamp and bit for bit,
 * the raw samples Prometheus's own HTTP API returns for them. The replica label is never stored;
 * the cluster label is.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { startNodeExporter, startPrometheus, type NodeExporter, type PrometheusProcess, type RawSeries } from '../helpers/prometheus.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { dropOrKeep, sleep, storedInWindow, tail, valueKey } from './support.js';

const RUN_MS = 40_000;
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

interface StoredSeries { name: string; labels: Record<string, string>; samples: string[] }

function render(series: RawSeries): string[] {
  return series.samples.map((s) => `${s.timeMs} ${valueKey(s.value)}`);
}

describe('Prometheus 2.42 remote_write → promfleet all → PostgreSQL', () => {
  let db: TestDatabase | undefined;
  let prefix = '';
  let promfleet: PromfleetProcess | undefined;
  let exporter: NodeExporter | undefined;
  let prom: PrometheusProcess | undefined;
  let client: pg.Client | undefined;
  let passed = false;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_write');
    prefix = uniqueName('pfe2e');
    promfleet = await startPromfleet('all', [
      `--pg.url=${db.url}`, `--queue.prefix=${prefix}`, '--pg.schema=prom', `--redis.url=${redisUrl()}`,
    ]);
    exporter = await startNodeExporter();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await exporter?.stop();
    const code = await promfleet?.stop('SIGTERM');
    await client?.end();
    // Kept for inspection when it failed: the database, the Redis keys, and the processes' last words.
    await dropOrKeep(passed, {
      name: 'prometheus-write', db, prefix,
      outputs: [[`promfleet (exit ${String(code)})`, tail(promfleet?.output() ?? '')], ['prometheus', tail(prom?.output() ?? '')]],
    });
  }, 60_000);

  it('stores exactly what Prometheus scraped, over a window of at least 25 s', async () => {
    const pf = promfleet!;
    const c = client!;
    const startedAt = Date.now();
    prom = await startPrometheus({
      name: 'promfleet-e2e',
      remoteWriteUrl: `${pf.url}/write`,
      scrapeTargets: [exporter!.target],
      scrapeIntervalS: 1,
      externalLabels: { cluster: 'e2e', __replica__: 'a' },
    });
    const p = prom;
    await sleep(startedAt + RUN_MS - Date.now());

    // A window that starts after the first scrapes and ends well before "now", so that
    // Prometheus has shipped all of it (batch_send_deadline 1 s) by the time we look.
    const windowStart = startedAt + 5_000;
    const windowEnd = Date.now() - 10_000;
    expect(windowEnd - windowStart).toBeGreaterThanOrEqual(25_000);

    const expected: RawSeries[] = [];
    for (const selector of SELECTORS) {
      const found = await p.rawSamples(selector, windowStart, windowEnd);
      expect(found.length, `Prometheus has no series for ${selector}`).toBeGreaterThan(0);
      for (const s of found) {
        expect(s.samples.length, `${selector}: samples in window`).toBeGreaterThanOrEqual(20);
        expected.push(s);
      }
    }
    expect(expected.length).toBeGreaterThanOrEqual(5);

    async function stored(): Promise<StoredSeries[]> {
      const out: StoredSeries[] = [];
      for (const s of expected) {
        const { __name__: name, ...rest } = s.labels;
        // Prometheus's API shows series without external labels; promfleet keeps `cluster`.
        const labels = { ...rest, cluster: 'e2e' };
        const samples = (await storedInWindow(c, name, labels, windowStart, windowEnd))
          .map((r) => `${r.timeMs} ${valueKey(r.value)}`);
        out.push({ name: name ?? '', labels, samples });
      }
      return out;
    }

    const want = expected.map((s) => {
      const { __name__: name, ...rest } = s.labels;
      return { name: name ?? '', labels: { ...rest, cluster: 'e2e' }, samples: render(s) };
    });
    // The window is flushed by Prometheus; the queue may still hold the tail. Bounded wait for
    // equality, then the assertion shows the difference if there is one.
    let got: StoredSeries[] = [];
    await waitFor('PostgreSQL to hold the window', async () => {
      got = await stored();
      return JSON.stringify(got) === JSON.stringify(want);
    }, 30_000, 500).catch(() => undefined);
    expect(got).toEqual(want);
    const compared = want.reduce((n, s) => n + s.samples.length, 0);
    console.info(`compared ${want.length} series, ${compared} samples over ${((windowEnd - windowStart) / 1000).toFixed(1)} s: equal`);

    const replica = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM prom.series WHERE labels ? '__replica__'`);
    expect(replica.rows[0]?.n).toBe(0);
    const clusters = await c.query<{ total: number; e2e: number }>(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE labels->>'cluster' = 'e2e')::int AS e2e FROM prom.series`,
    );
    expect(clusters.rows[0]?.total).toBeGreaterThan(0);
    expect(clusters.rows[0]?.e2e).toBe(clusters.rows[0]?.total);

    // Prometheus itself saw no failed sends (a 4xx is a dropped batch).
    const failed = await p.query('sum(prometheus_remote_storage_samples_failed_total)');
    expect(failed.resultType === 'vector' ? failed.result[0]?.value[1] : undefined).toBe('0');
    passed = true;
  }, 120_000);
});
