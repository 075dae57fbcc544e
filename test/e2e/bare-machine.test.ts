/**
 * A bare machine: the built CLI's `promfleet all` in an empty folder, with no PROMFLEET_*
 * variable and no --pg.* or --redis.* flag, runs its embedded PostgreSQL and keeps its queue in
 * that same database (no Redis). It answers /readyz within 30 s of being started, takes every captured
 * Prometheus 2.42 remote_write body, answers the captured remote_read requests with exactly what
 * was written, stops on SIGTERM, and after a start on the same data folder still answers them so.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeReadRequest, decodeReadResponse, decodeWriteRequest, snappyDecompress, type Label, type Query } from '../../src/protocol/index.js';
import { matchesAll } from '../../src/read/matchers.js';
import { capturedRequests, type CapturedRequest } from '../helpers/fixtures.js';
import { toBits } from '../helpers/float-bits.js';
import { waitFor } from '../helpers/ports.js';
import { readyStatus, startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { tail } from './support.js';

const READY_WITHIN_MS = 30_000;

function key(labels: readonly Label[]): string {
  return labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',');
}

/** The environment of a machine that was told nothing about promfleet. */
function bareEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PROMFLEET_')));
}

/** What each captured read query must answer once replica a's writes are stored: series key → "ts:bits" in time order. */
function expectedAnswers(writes: readonly CapturedRequest[], reads: readonly CapturedRequest[]): Map<string, string[]>[][] {
  const stored = new Map<string, { labels: Label[]; samples: Array<[number, string]> }>();
  for (const r of writes) {
    for (const ts of decodeWriteRequest(snappyDecompress(r.body, 64 << 20)).timeseries) {
      const labels = ts.labels.filter((l) => l.name !== '__replica__');
      const s = stored.get(key(labels)) ?? { labels, samples: [] };
      for (const x of ts.samples) s.samples.push([x.timestamp, toBits(x.value)]);
      stored.set(key(labels), s);
    }
  }
  const answer = (q: Query): Map<string, string[]> => {
    const matchers = q.matchers.filter((m) => m.name !== '__replica__');
    const out = new Map<string, string[]>();
    for (const s of stored.values()) {
      if (!matchesAll(s.labels, matchers)) continue;
      const inRange = s.samples.filter(([ts]) => ts >= q.startTimestampMs && ts <= q.endTimestampMs).sort((a, b) => a[0] - b[0]);
      if (inRange.length > 0) out.set(key(s.labels), inRange.map(([ts, bits]) => `${ts}:${bits}`));
    }
    return out;
  };
  return reads.map((r) => decodeReadRequest(snappyDecompress(r.body, 1 << 20)).queries.map(answer));
}

/** Each captured read request's answers, as the expected ones are keyed. */
async function readAll(url: string, reads: readonly CapturedRequest[]): Promise<Map<string, string[]>[][]> {
  const out: Map<string, string[]>[][] = [];
  for (const r of reads) {
    const res = await fetch(`${url}${r.url}`, { method: 'POST', headers: r.headers, body: new Uint8Array(r.body) });
    expect(res.status, r.file).toBe(200);
    const results = decodeReadResponse(snappyDecompress(new Uint8Array(await res.arrayBuffer()), 64 << 20));
    out.push(results.map((q) => new Map(q.timeseries.map((ts) => [key(ts.labels), ts.samples.map((x) => `${x.timestamp}:${toBits(x.value)}`)]))));
  }
  return out;
}

function canonical(answers: Map<string, string[]>[][]): string {
  return JSON.stringify(answers.map((queries) => queries.map((m) => [...m].sort(([a], [b]) => a.localeCompare(b)))));
}

describe('promfleet all on a bare machine', () => {
  let dir = '';
  const outputs: string[] = [];
  let running: PromfleetProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'promfleet-bare-'));
    // Run as root, the embedded PostgreSQL runs as the postgres OS user, which must reach the folder.
    await chmod(dir, 0o755);
  });

  afterAll(async () => {
    await running?.stop('SIGTERM');
    if (running) outputs.push(running.output());
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  /** Starts the CLI in the empty folder and waits for /readyz, counting from the spawn. */
  async function start(): Promise<PromfleetProcess> {
    const t0 = Date.now();
    const p = await startPromfleet('all', [`--storage.embedded-dir=${path.join(dir, 'data')}`], {
      baseEnv: bareEnv(), cwd: dir, healthyWithinMs: READY_WITHIN_MS,
    });
    running = p;
    await waitFor('/readyz 200', async () => (await readyStatus(p.url)) === 200, Math.max(READY_WITHIN_MS - (Date.now() - t0), 1), 100);
    return p;
  }

  async function stop(p: PromfleetProcess): Promise<void> {
    const code = await p.stop('SIGTERM');
    running = undefined;
    outputs.push(p.output());
    expect(code, tail(p.output())).toBe(0);
    // The database stopped last, after the process had stopped its roles.
    const out = p.output();
    expect(out.indexOf('"msg":"embedded PostgreSQL stopped"'), tail(out)).toBeGreaterThan(out.indexOf('"msg":"stopped"'));
  }

  it('serves writes and reads on an embedded PostgreSQL whose data survives a restart', async () => {
    const writes = capturedRequests('write').filter((r) => r.replica === 'replica-a');
    const reads = capturedRequests('read');
    const expected = expectedAnswers(writes, reads);
    expect(expected.flat().filter((m) => m.size > 0).length).toBeGreaterThan(3);

    const first = await start();
    const log = first.output();
    expect(log).toMatch(/"pg":"embedded \(/);
    expect(log).toMatch(/"msg":"embedded PostgreSQL on 127\.0\.0\.1:\d+, data in [^"]+; for production set --pg\.url or PROMFLEET_PG_URL/);
    expect(log).toMatch(/"initialised":true/);
    // The queue is in the embedded database (default prefix), and nothing reached for Redis.
    expect(log).toContain('"queue":"postgres (schema promfleet_queue)"');
    expect(log).not.toMatch(/redis/i);
    for (const r of writes) {
      const res = await fetch(`${first.url}${r.url}`, { method: 'POST', headers: r.headers, body: new Uint8Array(r.body) });
      expect(res.status, `${r.file}: ${await res.clone().text()}`).toBe(204);
    }
    // Written asynchronously by the worker: wait (bounded) until remote_read sees it all.
    let got: Map<string, string[]>[][] = [];
    await waitFor('remote_read answering every write', async () => {
      got = await readAll(first.url, reads);
      return canonical(got) === canonical(expected);
    }, 60_000, 250).catch(() => undefined);
    expect(got).toEqual(expected);
    await stop(first);

    const second = await start();
    expect(second.output()).toMatch(/"initialised":false/);
    expect(await readAll(second.url, reads)).toEqual(expected);
    await stop(second);
  }, 180_000);
});
