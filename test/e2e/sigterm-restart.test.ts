/**
 * SIGTERM to `promfleet all` in the middle of a remote_write stream, then a
 * restart on the same port, loses no sample that was answered 2xx and duplicates none.
 *
 * The client behaves like Prometheus: it resends the same bytes after a 5xx or a connection error
 * until it gets a 2xx. Request i carries 100 series `s=0..99`, all at timestamp base + i s, with
 * value i * 1000 + s, so every stored row names the request it came from.
 */
import pg from 'pg';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { deliverLikePrometheus, probeBody } from '../helpers/probe-requests.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { dropOrKeep, sleep, tail } from './support.js';

const METRIC = 'e2e_restart_probe';
const REQUESTS = 300;
const SERIES = 100;
/** Requests are spread over this long; the SIGTERM lands after a third of them. */
const SPREAD_MS = 15_000;
const KILL_AFTER = 100;
const SENDERS = 4;
/** Attempts per request (Prometheus retries forever; a test must not). */
const MAX_ATTEMPTS = 200;

function body(i: number, baseMs: number): Buffer {
  return probeBody(METRIC, 'restart', SERIES, i, baseMs);
}

interface Outcome { status: number; attempts: number; errors: string[] }

describe('SIGTERM and restart of promfleet all mid-stream', () => {
  let db: TestDatabase | undefined;
  let prefix = '';
  let args: string[] = [];
  let first: PromfleetProcess | undefined;
  let second: PromfleetProcess | undefined;
  let client: pg.Client | undefined;
  const agent = new Agent({ connections: SENDERS, keepAliveTimeout: 1_000, connectTimeout: 2_000 });
  let passed = false;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_restart');
    prefix = uniqueName('pfe2e');
    args = [`--pg.url=${db.url}`, `--queue.prefix=${prefix}`, '--pg.schema=prom', `--redis.url=${redisUrl()}`, '--shutdown.timeout=10s'];
    first = await startPromfleet('all', args);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  }, 60_000);

  afterAll(async () => {
    await agent.close();
    const codes = [await first?.stop('SIGTERM'), await second?.stop('SIGTERM')];
    await client?.end();
    await dropOrKeep(passed, {
      name: 'sigterm-restart', db, prefix,
      outputs: [
        [`first promfleet (exit ${String(codes[0])})`, tail(first?.output() ?? '')],
        [`second promfleet (exit ${String(codes[1])})`, tail(second?.output() ?? '')],
      ],
    });
  }, 60_000);

  it('loses no 2xx-answered sample and stores none twice', async () => {
    const pf = first!;
    const url = `${pf.url}/write`;
    const baseMs = Date.now() - 300_000;
    const outcomes: Outcome[] = Array.from({ length: REQUESTS }, () => ({ status: 0, attempts: 0, errors: [] }));
    let answered2xx = 0;
    let firstExit: number | null | undefined;

    async function send(i: number): Promise<void> {
      const o = outcomes[i]!;
      const d = await deliverLikePrometheus(url, body(i, baseMs), agent, MAX_ATTEMPTS, (outcome, status) => {
        if (status === 0 || status >= 500 || status === 429) o.errors.push(outcome);
      });
      o.status = d.status;
      o.attempts = d.attempts;
      if (d.status >= 200 && d.status < 300) answered2xx++;
    }

    // Request i is not sent before its slot; the senders take the next index in turn.
    const t0 = Date.now();
    let next = 0;
    async function sender(): Promise<void> {
      while (next < REQUESTS) {
        const i = next++;
        await sleep(t0 + (i * SPREAD_MS) / REQUESTS - Date.now());
        await send(i);
      }
    }

    let downMs = 0;
    async function restartMidStream(): Promise<void> {
      await waitFor(`${KILL_AFTER} requests answered`, async () => answered2xx >= KILL_AFTER, SPREAD_MS * 2, 20);
      const down = Date.now();
      firstExit = await pf.stop('SIGTERM');
      second = await startPromfleet('all', args, { port: pf.port });
      downMs = Date.now() - down;
    }

    await Promise.all([restartMidStream(), ...Array.from({ length: SENDERS }, () => sender())]);

    expect(firstExit).toBe(0);
    const notOk = outcomes.map((o, i) => ({ i, ...o })).filter((o) => o.status < 200 || o.status >= 300);
    expect(notOk).toEqual([]);
    // The restart was really mid-stream: some requests had to be retried across it.
    const retried = outcomes.filter((o) => o.attempts > 1).length;
    expect(retried).toBeGreaterThan(0);
    const attempts = outcomes.reduce((n, o) => n + o.attempts, 0);
    console.info(`${REQUESTS} requests, ${retried} retried (${attempts - REQUESTS} retries) across a ${downMs} ms restart`);

    const c = client!;
    const total = REQUESTS * SERIES;
    const count = async () => (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM prom.metrics WHERE name = $1`, [METRIC])).rows[0]?.n ?? 0;
    await waitFor(`${total} rows of ${METRIC}`, async () => (await count()) >= total, 60_000, 250);
    // Late duplicates (a batch written twice after the count was reached) would show up here.
    await sleep(2_000);

    const rows = await c.query<{ ms: string; value: number; s: string }>(
      `SELECT round(extract(epoch FROM time) * 1000)::bigint AS ms, value, labels->>'s' AS s
         FROM prom.metrics WHERE name = $1`,
      [METRIC],
    );
    const perRequest = new Array<number>(REQUESTS).fill(0);
    const seen = new Set<string>();
    const wrong: string[] = [];
    for (const r of rows.rows) {
      const i = Math.round((Number(r.ms) - baseMs) / 1000);
      const key = `${i}/${r.s}`;
      if (seen.has(key)) wrong.push(`duplicate ${key}`);
      seen.add(key);
      if (!(i >= 0 && i < REQUESTS) || Number(r.ms) !== baseMs + i * 1000 || r.value !== i * 1000 + Number(r.s)) {
        wrong.push(`unexpected row ms=${r.ms} s=${r.s} value=${r.value}`);
        continue;
      }
      perRequest[i]!++;
    }
    expect(wrong.slice(0, 20)).toEqual([]);
    const incomplete = perRequest.map((n, i) => ({ i, n })).filter((x) => x.n !== SERIES);
    expect(incomplete).toEqual([]);
    expect(rows.rows.length).toBe(total);
    passed = true;
  }, 120_000);
});
