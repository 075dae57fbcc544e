/**
 * The ownership log's SQL, driven directly: the same replica taking the lock again is no
 * handoff (same epoch, no new interval); a handoff closes the open interval at the old owner's
 * cut and the new interval waits for its marks; a cut and the group watermark never pass the
 * database clock plus the skew (one sample from a fast clock), nor fall before what is
 * committed; a dead leader's interval is closed by anyone.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Leadership, type CutSource } from '../../src/storage/index.js';
import { useTestDatabase } from '../helpers/database.js';

const SKEW = 5_000;
const db = useTestDatabase('ha_ownership_log', { checkReleased: false, migrate: { schema: 'prom', timescaledb: false, partitionIntervalMs: 86_400_000 } });
let c: pg.PoolClient;
const leadership = new Leadership('prom');
const accepted = new Map<string, number>();
/** Per replica, where it first fell quiet (what it had accepted before a silence in its data). */
const quiet = new Map<string, number>();
const cuts: CutSource = {
  acceptedMs: async (replica) => accepted.get(replica),
  quietMs: async (replica, afterMs) => {
    const q = quiet.get(replica);
    return q !== undefined && (afterMs === null || q > afterMs) ? q : undefined;
  },
  maxSkewMs: SKEW,
};

async function intervals(group: string): Promise<{ epoch: number; replica: string; from: number | null; to: number | null; ready: boolean }[]> {
  const r = await c.query<{ epoch: string; replica: string; from_ms: string | null; to_ms: string | null; ready: boolean }>(
    'SELECT epoch, replica, from_ms, to_ms, ready FROM prom.ha_ownership WHERE group_name = $1 ORDER BY epoch', [group]);
  return r.rows.map((x) => ({ epoch: Number(x.epoch), replica: x.replica, from: x.from_ms === null ? null : Number(x.from_ms), to: x.to_ms === null ? null : Number(x.to_ms), ready: x.ready }));
}

async function watermark(group: string): Promise<number> {
  return Number((await c.query<{ max_ms: string }>('SELECT max_ms FROM prom.ha_watermarks WHERE group_name = $1', [group])).rows[0].max_ms);
}

beforeAll(async () => {
  c = await db.pool.connect();
});

afterAll(() => {
  c?.release();
});

describe('the ownership log', () => {
  it('records no handoff when the same replica takes the lock again', async () => {
    await leadership.groupId(c, 'same');
    const first = await leadership.takeOver(c, 'same', 'a', 'lock', cuts);
    const again = await leadership.takeOver(c, 'same', 'a', 'lock', cuts);
    expect(first).toMatchObject({ changed: true, waits: false, handoffMs: null });
    expect(again).toMatchObject({ epoch: first.epoch, changed: false });
    expect(await intervals('same')).toEqual([{ epoch: first.epoch, replica: 'a', from: null, to: null, ready: true }]);
  });

  it('closes the old owner\'s interval at its accepted watermark, and the new one waits for its marks', async () => {
    await leadership.groupId(c, 'g');
    await leadership.takeOver(c, 'g', 'a', 'lock', cuts);
    const now = Date.now();
    await leadership.advanceWatermark(c, 'g', now - 5_000, SKEW);
    accepted.set('a', now - 2_000);
    const t = await leadership.takeOver(c, 'g', 'b', 'lock', cuts);
    expect(t).toMatchObject({ handoffMs: now - 2_000, changed: true, waits: true, previous: 'a' });
    const log1 = await intervals('g');
    expect(log1.map((i) => [i.replica, i.from, i.to, i.ready])).toEqual([['a', null, now - 2_000, true], ['b', now - 2_000, null, false]]);
    expect(await leadership.markReady(c, 'g', t.epoch, 3_600_000)).toBe(0);
    expect((await intervals('g'))[1].ready).toBe(true);
  });

  it('never lets one future-stamped sample move the watermark or a cut past the clock plus the skew', async () => {
    await leadership.groupId(c, 'future');
    await leadership.takeOver(c, 'future', 'a', 'lock', cuts);
    const now = Date.now();
    await leadership.advanceWatermark(c, 'future', now + 180_000, SKEW);
    const wm = await watermark('future');
    expect(wm).toBeLessThanOrEqual(Date.now() + SKEW);
    expect(wm).toBeGreaterThan(now);
    accepted.set('a', now + 180_000);
    const t = await leadership.takeOver(c, 'future', 'b', 'lock', cuts);
    expect(t.handoffMs ?? Infinity, 'the cut is bounded by the clock').toBeLessThanOrEqual(Date.now() + SKEW);
    expect(t.handoffMs ?? -Infinity, 'and not before what is committed').toBeGreaterThanOrEqual(wm);
  });

  it('closes a dead lock leader\'s interval from any session, and leaves a live one alone', async () => {
    await leadership.groupId(c, 'dead');
    // A lock leader whose session held the lock and is gone.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    const id = await leadership.groupId(other, 'dead');
    expect(await leadership.tryLock(other, id)).toBe(true);
    await leadership.takeOver(other, 'dead', 'a', 'lock', cuts);
    expect(await leadership.closeDead(c, 'dead', cuts), 'alive: left alone').toBe(false);
    await other.end();
    accepted.set('a', 1_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(await leadership.closeDead(c, 'dead', cuts)).toBe(true);
    const row = await c.query<{ leader: string | null }>('SELECT leader FROM prom.ha_leaders WHERE group_name = $1', ['dead']);
    expect(row.rows[0].leader).toBeNull();
    expect((await intervals('dead')).map((i) => [i.replica, i.to])).toEqual([['a', 1_000]]);
  });

  it('holds a replica out once when a worker closed its interval where it fell quiet, then lets it lead from there', async () => {
    await leadership.groupId(c, 'quiet');
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    const id = await leadership.groupId(other, 'quiet');
    expect(await leadership.tryLock(other, id)).toBe(true);
    const first = await leadership.takeOver(other, 'quiet', 'q', 'lock', cuts);
    await other.end();
    accepted.set('q', 9_000);
    quiet.set('q', 5_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(await leadership.closeDead(c, 'quiet', cuts)).toBe(true);
    expect((await intervals('quiet')).map((i) => [i.replica, i.to])).toEqual([['q', 5_000]]);
    const back = await leadership.takeOver(c, 'quiet', 'q', 'lock', cuts);
    expect(back).toMatchObject({ resigned: true, changed: false, handoffMs: 5_000, epoch: first.epoch });
    expect(await intervals('quiet'), 'nothing changed').toHaveLength(1);
    const after = await leadership.takeOver(c, 'quiet', 'q', 'lock', cuts, 5_000);
    expect(after).toMatchObject({ resigned: false, changed: true, handoffMs: 5_000, waits: false });
    expect((await intervals('quiet')).map((i) => [i.replica, i.from, i.to])).toEqual([['q', null, 5_000], ['q', 5_000, null]]);
  });
});
