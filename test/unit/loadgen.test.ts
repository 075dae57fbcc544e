/**
 * The load generator against a real listener on loopback: what it sends decodes as
 * node_exporter-shaped series of every replica with the HA external labels, one sample per
 * series per scrape with timestamps that only move forward; it counts every status it gets, stops
 * at its duration, and its flags refuse bad values by name.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeWriteRequest, snappyDecompress, type TimeSeries } from '../../src/protocol/index.js';
import { loadgenHelp, parseLoadgenArgs, runLoadgen } from '../../src/loadgen/index.js';
import { LOADGEN_FLAGS } from '../../src/config/index.js';

let server: http.Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(answer: (n: number) => number, seen: TimeSeries[][]): Promise<string> {
  let n = 0;
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(decodeWriteRequest(snappyDecompress(Buffer.concat(chunks), 64 << 20)).timeseries);
      res.writeHead(answer(n++)).end();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/write`;
}

describe('promfleet loadgen', () => {
  it('sends every series of every replica, HA-labelled, timestamps forward, and counts statuses', async () => {
    const seen: TimeSeries[][] = [];
    const url = await listen((n) => (n % 5 === 4 ? 503 : 204), seen);
    const report = await runLoadgen({
      url, series: 300, replicas: 2, rate: 6000, durationMs: 1500, seriesPerRequest: 100, connections: 2,
      clusterLabel: 'cluster', cluster: 'lg', replicaLabel: '__replica__', timeoutMs: 5000,
    });
    expect(report.seconds).toBeLessThan(3);
    expect(report.requests).toBe(seen.length);
    expect((report.statuses['204'] ?? 0) + (report.statuses['503'] ?? 0)).toBe(report.requests);
    expect(report.statuses['503']).toBe(Math.floor(report.requests / 5));
    expect(report.samplesAccepted).toBe((report.statuses['204'] ?? 0) * 100);
    // About 6000 samples/s sent for 1.5 s; 1 in 5 refused.
    expect(report.samplesSent).toBeGreaterThan(4000);
    expect(report.samplesSent).toBeLessThanOrEqual(10_000);
    const last = new Map<string, number>();
    const replicas = new Set<string>();
    for (const ts of seen.flat()) {
      const labels = Object.fromEntries(ts.labels.map((l) => [l.name, l.value]));
      expect(ts.labels.map((l) => l.name)).toEqual([...ts.labels.map((l) => l.name)].sort());
      expect(labels.cluster).toBe('lg');
      expect(labels.job).toBe('node');
      expect(labels.__name__).toMatch(/^node_/);
      expect(ts.labels.length).toBeGreaterThanOrEqual(6);
      replicas.add(labels.__replica__);
      expect(ts.samples).toHaveLength(1);
      const key = JSON.stringify(ts.labels);
      const t = ts.samples[0].timestamp;
      if (last.has(key)) expect(t).toBeGreaterThan(last.get(key) ?? Infinity);
      last.set(key, t);
    }
    expect([...replicas].sort()).toEqual(['r0', 'r1']);
    expect(last.size).toBe(600);
  });

  it('refuses bad flags by name and value, and durations beyond 24h', () => {
    expect(() => parseLoadgenArgs(['--rate=fast'])).toThrow(/--rate "fast"/);
    expect(() => parseLoadgenArgs(['--duration=25h'])).toThrow(/24h/);
    expect(() => parseLoadgenArgs(['--bogus=1'])).toThrow(/unknown flag --bogus/);
    const o = parseLoadgenArgs(['--series', '20', '--replicas=3', '--rate=50k', '--duration=2s', '--json']);
    expect(o).toMatchObject({ series: 20, replicas: 3, rate: 50_000, durationMs: 2000, json: true });
  });

  it('reads its flags with the shared flag machinery: defaults, bare booleans, -name, help from the table', () => {
    const d = parseLoadgenArgs([]);
    expect(d).toMatchObject({ url: 'http://127.0.0.1:9201/write', series: 10_000, replicas: 2, rate: 100_000, durationMs: 30_000, json: false });
    expect(parseLoadgenArgs(['-rate', '2M', '--json=false']).rate).toBe(2_000_000);
    expect(parseLoadgenArgs(['--json', '--series=5']).json).toBe(true);
    expect(() => parseLoadgenArgs(['--url=ftp://x'])).toThrow(/--url "ftp:\/\/x".*http or https/);
    expect(() => parseLoadgenArgs(['--series'])).toThrow(/--series needs a value/);
    const help = loadgenHelp();
    for (const [name, spec] of Object.entries(LOADGEN_FLAGS)) expect(help).toContain(`--${name.padEnd(20)} ${spec.help} (default ${spec.default})`);
  });
});
