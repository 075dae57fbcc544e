/**
 * Locks never stack. PostgreSQL session advisory locks
 * count: a session that takes the same lock n times must release it n times. The original
 * adapter re-acquired on every round and released once on resign, so the lock stayed taken.
 * Here: Leadership.unlock frees every hold at once; the LockElector, driven round by round with an
 * injected clock, never tries for a lock it holds (one hold, one pg_locks row), so that a single
 * release on resign frees the lock for another session.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { LockElector } from '../../src/election/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import { Leadership, migrate } from '../../src/storage/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { groupLockHolders, leaderRow } from '../helpers/ha-load.js';

const log = pino({ level: 'silent' });
let db: TestDatabase;
let s1: pg.Client;
let s2: pg.Client;
let observer: pg.Client;
const leadership = new Leadership('prom');
let passedTests = 0;

async function pidOf(c: pg.Client): Promise<number> {
  return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

beforeAll(async () => {
  db = await createTestDatabase('ha_lock_no_stack');
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    await migrate(pool, { schema: 'prom', timescaledb: false, partitionIntervalMs: 86_400_000, log });
  } finally {
    await pool.end();
  }
  s1 = new pg.Client({ connectionString: db.url });
  s2 = new pg.Client({ connectionString: db.url });
  observer = new pg.Client({ connectionString: db.url });
  await Promise.all([s1.connect(), s2.connect(), observer.connect()]);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await Promise.allSettled([s1?.end(), s2?.end(), observer?.end()]);
  if (passedTests === 2) await db.drop();
});

describe('advisory locks never stack', () => {
  it('a session that took the group lock several times frees it with one Leadership.unlock', async () => {
    const id = await leadership.groupId(s1, 'stack');
    for (let i = 0; i < 5; i++) expect(await leadership.tryLock(s1, id)).toBe(true);
    expect(await groupLockHolders(observer, id)).toEqual([await pidOf(s1)]);
    expect(await leadership.holdsLock(s1, id)).toBe(true);
    expect(await leadership.tryLock(s2, id)).toBe(false);

    expect(await leadership.unlock(s1, id)).toBe(5);
    expect(await leadership.holdsLock(s1, id)).toBe(false);
    expect(await groupLockHolders(observer, id)).toEqual([]);
    expect(await leadership.tryLock(s2, id)).toBe(true);
    expect(await leadership.unlock(s2, id)).toBe(1);
    passedTests++;
  });

  it('an elector that keeps its leadership round after round holds the lock once, and one release on resign frees it', async () => {
    let clock = Date.now();
    const tryLock = vi.spyOn(Leadership.prototype, 'tryLock');
    // The elector's own tries (this test's `leadership` tries from the other session too).
    const electorTries = () => tryLock.mock.contexts.filter((ctx) => ctx !== leadership).length;
    // One single pg_advisory_unlock per resign, as the original adapter did: a stacked hold would survive it.
    const unlock = vi.spyOn(Leadership.prototype, 'unlock').mockImplementation(async function (this: Leadership, c, groupId) {
      const r = await c.query<{ ok: boolean }>('SELECT pg_advisory_unlock($1::int, $2::int) AS ok', [this.namespace, groupId]);
      return r.rows[0].ok ? 1 : 0;
    });
    const elector = new LockElector({
      connectionString: db.url, schema: 'prom', applicationName: 'promfleet test elector',
      intervalMs: 250, timeoutMs: 2_000, cuts: () => ({ acceptedMs: async () => undefined, quietMs: async () => undefined, maxSkewMs: 60_000 }), log, metrics: new Metrics(), now: () => clock,
    });
    try {
      elector.observe('g', 'a');
      await elector.tick();
      expect(elector.isLeader('g', 'a')).toBe(true);
      const row = await leaderRow(observer, 'g');
      expect(row?.leader).toBe('a');
      expect(electorTries()).toBe(1);

      // Twenty more rounds while a keeps writing: no further try, one hold, one pg_locks row.
      for (let i = 0; i < 20; i++) {
        clock += 250;
        elector.observe('g', 'a');
        await elector.tick();
        expect(elector.isLeader('g', 'a')).toBe(true);
      }
      expect(electorTries(), 'pg_try_advisory_lock called while holding the lock').toBe(1);
      expect(await groupLockHolders(observer, row?.groupId ?? -1)).toEqual([row?.pid]);
      expect(await leadership.tryLock(s2, row?.groupId ?? -1)).toBe(false);

      // a goes quiet: the elector resigns, with one release.
      clock += 2_500;
      await elector.tick();
      expect(elector.isLeader('g', 'a')).toBe(false);
      expect(unlock.mock.contexts.filter((ctx) => ctx !== leadership)).toHaveLength(1);
      expect((await leaderRow(observer, 'g'))?.leader).toBeNull();
      expect(await groupLockHolders(observer, row?.groupId ?? -1)).toEqual([]);
      expect(await leadership.tryLock(s2, row?.groupId ?? -1), 'another session takes the lock after one release').toBe(true);
      await leadership.unlock(s2, row?.groupId ?? -1);

      // A few quiet rounds: the elector stays out (no try, no hold).
      for (let i = 0; i < 4; i++) {
        clock += 250;
        await elector.tick();
      }
      expect(electorTries()).toBe(1);
      expect(await groupLockHolders(observer, row?.groupId ?? -1)).toEqual([]);
      passedTests++;
    } finally {
      await elector.stop();
      vi.restoreAllMocks();
    }
  });
});
