/**
 * The out-of-the-box path with a real Prometheus: `promfleet all` started as a new user would
 * (an empty folder, no PROMFLEET_* variable, no --pg.* or --redis.* flag), so on its embedded
 * PostgreSQL, which also holds the queue.
 * Debian's Prometheus 2.42 W scrapes itself and node_exporter every second and remote_writes
 * through it for 40 s; a second, empty Prometheus R whose only data source is promfleet's
 * remote_read then answers PromQL exactly as W answers it from its own TSDB.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { expectSamePromql } from '../helpers/promql-compare.js';
import { startNodeExporter, startPrometheus, type NodeExporter, type PrometheusProcess } from '../helpers/prometheus.js';
import { sleep, tail } from './support.js';

const RUN_MS = 40_000;
const EXTERNAL = { cluster: 'e2e-embedded', __replica__: 'w' };

describe('Prometheus 2.42 → promfleet all on its embedded PostgreSQL → Prometheus', () => {
  let dir = '';
  let promfleet: PromfleetProcess | undefined;
  let exporter: NodeExporter | undefined;
  let w: PrometheusProcess | undefined;
  let r: PrometheusProcess | undefined;
  let startedAt = 0;
  let windowEnd = 0;
  let passed = false;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'promfleet-e2e-embedded-'));
    // Run as root, the embedded PostgreSQL runs as the postgres OS user, which must reach the folder.
    await chmod(dir, 0o755);
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PROMFLEET_')));
    promfleet = await startPromfleet('all', [`--storage.embedded-dir=${path.join(dir, 'data')}`], {
      baseEnv: env, cwd: dir,
    });
    expect(promfleet.output()).toMatch(/"msg":"embedded PostgreSQL on 127\.0\.0\.1:\d+/);
    expect(promfleet.output()).toContain('"queue":"postgres (schema promfleet_queue)"');
    exporter = await startNodeExporter();
    startedAt = Date.now();
    w = await startPrometheus({
      name: 'writer', remoteWriteUrl: `${promfleet.url}/write`, scrapeTargets: [exporter.target], scrapeIntervalS: 1, externalLabels: EXTERNAL,
    });
    r = await startPrometheus({
      name: 'reader', remoteReadUrl: `${promfleet.url}/read`, scrapeTargets: [], selfJob: false, scrapeIntervalS: 1, externalLabels: EXTERNAL,
    });
    await sleep(startedAt + RUN_MS - Date.now());
    // Everything up to here has been scraped; W ships within a second or two (batch_send_deadline 1 s).
    windowEnd = Date.now() - 5_000;
    const reader = r;
    await waitFor('promfleet to hold the window', async () => {
      const d = await reader.query('max(timestamp(up{job="prometheus"}))', Date.now() / 1000);
      return d.resultType === 'vector' && d.result.length === 1 && Number(d.result[0].value[1]) * 1000 >= windowEnd + 2_000;
    }, 30_000, 500);
  }, 180_000);

  afterAll(async () => {
    await r?.stop();
    await w?.stop();
    await exporter?.stop();
    const code = await promfleet?.stop('SIGTERM');
    if (!passed) {
      console.error(`promfleet (exit ${String(code)}):\n${tail(promfleet?.output() ?? '')}\nprometheus W:\n${tail(w?.output() ?? '')}\nprometheus R:\n${tail(r?.output() ?? '')}`);
    }
    expect(code).toBe(0);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('a Prometheus reading only through promfleet answers PromQL as the writing Prometheus does', async () => {
    const end = Math.floor(windowEnd / 1000);
    const start = Math.ceil(startedAt / 1000) + 15;
    expect(end - start).toBeGreaterThanOrEqual(15);
    const mid = Math.floor((start + end) / 2) + 0.5;
    const instant = [
      'up',
      'node_cpu_seconds_total{mode="idle"}',
      'count(node_cpu_seconds_total)',
      'node_memory_MemAvailable_bytes',
      'count by (job) (up)',
    ];
    const range = [
      'rate(node_cpu_seconds_total{mode="user"}[10s])',
      'scrape_samples_scraped',
      'rate(prometheus_tsdb_head_samples_appended_total[10s])',
    ];
    const compared = await expectSamePromql(w!, r!, { instant, at: [mid, end], range, start, end, step: 2 });
    console.info(`${compared} PromQL evaluations equal on W (own TSDB) and R (promfleet on its embedded PostgreSQL)`);
    passed = true;
  }, 120_000);
});
