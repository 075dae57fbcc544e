/**
 * The Prometheus/node_exporter harness itself: both start on free loopback ports, Prometheus
 * scrapes both, the raw-sample query returns what the TSDB holds, and stop() leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startNodeExporter, startPrometheus, type NodeExporter, type PrometheusProcess } from '../helpers/prometheus.js';

describe('prometheus test harness', () => {
  let exporter: NodeExporter | undefined;
  let prom: PrometheusProcess | undefined;

  afterAll(async () => {
    await prom?.stop();
    await exporter?.stop();
  });

  it('scrapes itself and node_exporter, and returns raw samples', async () => {
    exporter = await startNodeExporter();
    prom = await startPrometheus({
      name: 'harness',
      scrapeTargets: [exporter.target],
      scrapeIntervalS: 1,
      externalLabels: { cluster: 'harness' },
    });
    const p = prom;
    await waitFor('both targets up', async () => {
      const data = await p.query('sum(up)');
      return data.resultType === 'vector' && data.result[0]?.value[1] === '2';
    }, 20_000, 250);
    const end = Date.now();
    const raw = await p.rawSamples('node_load1', end - 10_000, end);
    expect(raw).toHaveLength(1);
    expect(raw[0]?.labels).toMatchObject({ __name__: 'node_load1', job: 'node', instance: exporter.target });
    expect(raw[0]?.samples.length).toBeGreaterThan(0);
    for (const s of raw[0]?.samples ?? []) {
      expect(s.timeMs).toBeGreaterThanOrEqual(end - 10_000);
      expect(s.timeMs).toBeLessThanOrEqual(end);
      expect(Number.isFinite(s.value)).toBe(true);
    }
    const dir = p.dir;
    await p.stop();
    await p.stop(); // idempotent
    expect(existsSync(dir)).toBe(false);
    expect(p.output()).toContain('Server is ready to receive web requests');
  }, 60_000);
});
