/**
 * The election session's set-up and query deadline against the real PostgreSQL: the server
 * settings that let it end a silent session are in force, and a query that misses its deadline
 * rejects on time and leaves the connection destroyed (never reused), with the server's backend
 * gone soon after (client_connection_check_interval stops the running statement).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { applySessionSettings, electionTimings, QueryDeadlineError, sessionClient, withDeadline } from '../../src/election/session.js';
import { waitFor } from '../helpers/ports.js';
import { pgUrl } from '../helpers/services.js';

const clients: pg.Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.end().catch(() => undefined);
});

afterAll(async () => {
  for (const c of clients.splice(0)) await c.end().catch(() => undefined);
});

async function connected(c: pg.Client): Promise<pg.Client> {
  c.on('error', () => undefined);
  clients.push(c);
  await c.connect();
  return c;
}

describe('the election session', () => {
  it('has the settings that make the server end it when it goes silent, derived from the interval', async () => {
    const t = electionTimings(250);
    expect(t).toMatchObject({ queryDeadlineMs: 1000, stepDownBoundMs: 1250, sessionTimeoutMs: 2500, keepalivesIdleS: 2, keepalivesIntervalS: 1, keepalivesCount: 2 });
    // The server gives up no sooner than twice the holder's step-down bound, keepalive included.
    for (const i of [50, 250, 1000, 5000]) {
      const x = electionTimings(i);
      expect(x.sessionTimeoutMs).toBeGreaterThanOrEqual(2 * x.stepDownBoundMs);
      expect((x.keepalivesIdleS + x.keepalivesCount * x.keepalivesIntervalS) * 1000).toBeGreaterThanOrEqual(x.sessionTimeoutMs);
    }
    const c = await connected(sessionClient({ connectionString: pgUrl(), applicationName: 'promfleet test election session', timings: t }));
    expect(await applySessionSettings(c, t)).toEqual([]);
    const show = async (name: string): Promise<string> =>
      (await c.query<{ v: string }>(`SELECT setting || coalesce(unit, '') AS v FROM pg_settings WHERE name = $1`, [name])).rows[0].v;
    expect(await show('idle_session_timeout')).toBe('2500ms');
    expect(await show('idle_in_transaction_session_timeout')).toBe('2500ms');
    expect(await show('tcp_user_timeout')).toBe('2500ms');
    expect(await show('client_connection_check_interval')).toBe('250ms');
    expect(await show('tcp_keepalives_idle')).toBe('2s');
    expect(await show('tcp_keepalives_interval')).toBe('1s');
    expect(await show('tcp_keepalives_count')).toBe('2');
  });

  it('a query that misses its deadline rejects on time, and the connection is destroyed, not reused', async () => {
    const t = electionTimings(250);
    const c = await connected(sessionClient({ connectionString: pgUrl(), applicationName: 'promfleet test election deadline', timings: t }));
    await applySessionSettings(c, t);
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const started = Date.now();
    await expect(withDeadline(c, 300, 'sleep', () => c.query('SELECT pg_sleep(30)'))).rejects.toBeInstanceOf(QueryDeadlineError);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1_000);
    await expect(c.query('SELECT 1')).rejects.toThrow();
    const observer = await connected(new pg.Client({ connectionString: pgUrl() }));
    await waitFor('the server to end the abandoned backend', async () =>
      ((await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount ?? 0) === 0, 5_000, 50);
  });

  it('a query that answers in time is untouched', async () => {
    const t = electionTimings(250);
    const c = await connected(sessionClient({ connectionString: pgUrl(), applicationName: 'promfleet test election ok', timings: t }));
    expect((await withDeadline(c, 1_000, 'one', () => c.query<{ n: number }>('SELECT 1 AS n'))).rows[0].n).toBe(1);
    expect((await c.query<{ n: number }>('SELECT 2 AS n')).rows[0].n).toBe(2);
  });
});
