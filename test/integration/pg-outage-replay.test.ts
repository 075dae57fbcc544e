/**
 * A PostgreSQL outage in the middle of a remote_write stream loses nothing
 * and writes nothing twice, and promfleet recovers by itself.
 *
 * `promfleet all` runs as a separate process on a PostgreSQL of the test's own. 150 requests of
 * 100 series each stream in over 30 s (request i: timestamp base + i s, value i * 1000 + s, so
 * every stored row names the request it came from); 8 s in, PostgreSQL is stopped for 20 s and
 * started again. The client behaves like Prometheus: it resends the same bytes after a 5xx or a
 * connection error until it gets a 2xx. Every write is answered 204 or 503; afterwards every
 * sample answered 204 is stored exactly once, and the process's /readyz answers 200 again
 * without a restart.
 *
 * On the redis queue the ingress keeps accepting through the outage (Redis holds the batches).
 * On the postgres queue the queue is in the stopped database: every write sent while it is down
 * is answered 503 with Retry-After, never 2xx, and the resent ones get in once it is back.
 */
import pg from 'pg';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropOrKeep, sleep, tail } from '../e2e/support.js';
import { waitFor } from '../helpers/ports.js';
import { deliverLikePrometheus, probeBody } from '../helpers/probe-requests.js';
import { readyStatus, startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { queueFlags, testQueueBackend } from '../helpers/queue-store.js';
import { uniqueName } from '../helpers/services.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-pg.js';

const METRIC = 'pg_outage_probe';
const REQUESTS = 150;
const SERIES = 100;
const SPREAD_MS = 30_000;
const SENDERS = 4;
const OUTAGE_AFTER_MS = 8_000;
const OUTAGE_MS = 20_000;
/** Attempts per request (Prometheus retries forever; a test must not). */
const MAX_ATTEMPTS = 300;

function body(i: number, baseMs: number): Buffer {
  return probeBody(METRIC, 'outage', SERIES, i, baseMs);
}

interface Attempt { outcome: string; sentAt: number; answeredAt: number; retryAfter?: string }
interface Outcome { status: number; attempts: number; statuses: string[]; log: Attempt[] }


describe('PostgreSQL stopped for 20 s mid-stream under promfleet all', () => {
  let server: ThrowawayPostgres | undefined;
  let prefix = '';
  let promfleet: PromfleetProcess | undefined;
  let client: pg.Client | undefined;
  const agent = new Agent({ connections: SENDERS, keepAliveTimeout: 1_000, connectTimeout: 2_000 });
  let passed = false;

  beforeAll(async () => {
    server = await startThrowawayPostgres();
    prefix = uniqueName('pfoutage');
    promfleet = await startPromfleet('all', [
      `--pg.url=${server.url}`, `--queue.prefix=${prefix}`, ...queueFlags(),
      '--storage.timescaledb=false', '--shutdown.timeout=10s',
    ]);
    const pf = promfleet;
    // Healthy is not ready: the schema is migrated before the load starts.
    await waitFor(`${pf.url}/readyz`, async () => (await readyStatus(pf.url)) === 200, 60_000, 100);
  }, 120_000);

  afterAll(async () => {
    await agent.close();
    await client?.end().catch(() => undefined);
    const code = await promfleet?.stop('SIGTERM', 20_000);
    const pgLog = passed ? '' : ((await server?.log()) ?? '');
    await dropOrKeep(passed, {
      name: 'pg-outage-replay', db: undefined, prefix,
      outputs: [[`promfleet (exit ${String(code)})`, tail(promfleet?.output() ?? '')], ['postgres', tail(pgLog)]],
    });
    await server?.destroy();
  }, 90_000);

  it(`stores every sample answered 204 exactly once, and recovers without a restart (${testQueueBackend()} queue)`, async () => {
    const pf = promfleet!;
    const pgServer = server!;
    const url = `${pf.url}/write`;
    const baseMs = Date.now() - 600_000;
    const outcomes: Outcome[] = Array.from({ length: REQUESTS }, () => ({ status: 0, attempts: 0, statuses: [], log: [] }));

    async function send(i: number): Promise<void> {
      const o = outcomes[i]!;
      const d = await deliverLikePrometheus(url, body(i, baseMs), agent, MAX_ATTEMPTS, (outcome, _status, { sentAt, retryAfter }) => {
        o.statuses.push(outcome);
        o.log.push({ outcome, sentAt, answeredAt: Date.now(), retryAfter });
      });
      o.status = d.status;
      o.attempts = d.attempts;
    }

    const t0 = Date.now();
    let next = 0;
    async function sender(): Promise<void> {
      while (next < REQUESTS) {
        const i = next++;
        await sleep(t0 + (i * SPREAD_MS) / REQUESTS - Date.now());
        await send(i);
      }
    }

    // /readyz of the process while the database is away (informative: ingress may stay ready).
    const readyDuringOutage: number[] = [];
    let outageStart = 0;
    /** When the database had stopped: nothing sent after this can be committed before the restart. */
    let downAt = 0;
    let outageEnd = 0;
    /** When the database was started again (pg_ctl start itself may take seconds on a busy machine). */
    let restartAt = 0;
    async function outage(): Promise<void> {
      await sleep(t0 + OUTAGE_AFTER_MS - Date.now());
      outageStart = Date.now();
      await pgServer.stop();
      downAt = Date.now();
      for (let k = 0; k < OUTAGE_MS / 1_000; k++) {
        await sleep(Math.max(0, outageStart + (k + 1) * 1_000 - Date.now()));
        readyDuringOutage.push(await readyStatus(pf.url));
      }
      await sleep(outageStart + OUTAGE_MS - Date.now());
      restartAt = Date.now();
      await pgServer.start();
      outageEnd = Date.now();
    }

    const senders = Promise.all(Array.from({ length: SENDERS }, () => sender())).then(() => Date.now());
    const [streamEnd] = await Promise.all([senders, outage()]);

    // The outage was really mid-stream: the senders went on after the restart began.
    expect(outageEnd - outageStart).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect(streamEnd).toBeGreaterThan(restartAt);

    // Every attempt was answered 204 or 503, and every request ended with 204.
    const strange = outcomes.map((o, i) => ({ i, statuses: o.statuses.filter((s) => s !== '204' && s !== '503') })).filter((o) => o.statuses.length > 0);
    expect(strange).toEqual([]);
    const notOk = outcomes.map((o, i) => ({ i, status: o.status, attempts: o.attempts })).filter((o) => o.status !== 204);
    expect(notOk).toEqual([]);
    const retried = outcomes.filter((o) => o.attempts > 1).length;
    const answered503 = outcomes.reduce((n, o) => n + o.statuses.filter((s) => s === '503').length, 0);
    // Attempts sent once the database had stopped and answered before it was started again.
    const whileDown = outcomes.flatMap((o, i) => o.log.filter((a) => a.sentAt >= downAt && a.answeredAt < restartAt).map((a) => ({ i, ...a })));
    if (testQueueBackend() === 'postgres') {
      // The queue went down with the database: refused, with a time to come back, and resent.
      expect(whileDown.length).toBeGreaterThan(0);
      expect(whileDown.filter((a) => a.outcome !== '503' || a.retryAfter === undefined || !(Number(a.retryAfter) > 0)).slice(0, 20)).toEqual([]);
      expect(retried).toBeGreaterThan(0);
    }

    // promfleet recovered by itself: same process, ready again.
    expect(pf.proc.exitCode).toBeNull();
    const recoveryStart = Date.now();
    await waitFor(`${pf.url}/readyz 200 after the outage`, async () => (await readyStatus(pf.url)) === 200, 60_000, 200);
    const readyAfterMs = Date.now() - recoveryStart;

    client = new pg.Client({ connectionString: pgServer.url });
    await client.connect();
    const c = client;
    const total = REQUESTS * SERIES;
    const count = async () => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM prom.metrics WHERE name = $1', [METRIC])).rows[0]?.n ?? 0;
    await waitFor(`${total} rows of ${METRIC}`, async () => (await count()) >= total, 90_000, 250);
    const drainedMs = Date.now() - outageEnd;
    // Late duplicates (a batch written twice after the count was reached) would show up here.
    await sleep(2_000);

    const rows = await c.query<{ ms: string; value: number; s: string }>(
      `SELECT round(extract(epoch FROM time) * 1000)::bigint AS ms, value, labels->>'s' AS s
         FROM prom.metrics WHERE name = $1`,
      [METRIC],
    );
    const perRequest = new Array<number>(REQUESTS).fill(0);
    const perSeries = new Array<number>(SERIES).fill(0);
    const seen = new Set<string>();
    const wrong: string[] = [];
    for (const r of rows.rows) {
      const i = Math.round((Number(r.ms) - baseMs) / 1000);
      const s = Number(r.s);
      const key = `${i}/${r.s}`;
      if (seen.has(key)) wrong.push(`duplicate ${key}`);
      seen.add(key);
      if (!(i >= 0 && i < REQUESTS) || !(s >= 0 && s < SERIES) || Number(r.ms) !== baseMs + i * 1000 || r.value !== i * 1000 + s) {
        wrong.push(`unexpected row ms=${r.ms} s=${r.s} value=${r.value}`);
        continue;
      }
      perRequest[i]!++;
      perSeries[s]!++;
    }
    expect(wrong.slice(0, 20)).toEqual([]);
    expect(perRequest.map((n, i) => ({ i, n })).filter((x) => x.n !== SERIES)).toEqual([]);
    expect(perSeries.map((n, s) => ({ s, n })).filter((x) => x.n !== REQUESTS)).toEqual([]);
    expect(rows.rows.length).toBe(total);

    // Nothing was dead-lettered or failed because the database was away.
    const metrics = await (await fetch(`${pf.url}/metrics`)).text();
    const deadLetters = metrics.split('\n').filter((l) => l.startsWith('promfleet_dead_letter_batches_total') && !l.endsWith(' 0'));
    expect(deadLetters).toEqual([]);

    console.info(`${testQueueBackend()} queue: ${REQUESTS} requests × ${SERIES} series; outage ${outageEnd - outageStart} ms; ` +
      `${retried} requests retried, ${answered503} answers 503 (${whileDown.length} attempts while the database was down); ` +
      `/readyz during the outage: ${readyDuringOutage.join(',')}; ready ${readyAfterMs} ms after the stream, all ${total} rows ${drainedMs} ms after the restart`);
    passed = true;
  }, 180_000);
});
