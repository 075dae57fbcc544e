/**
 * The producer's group commit (src/queue/coalesce.ts): batches for one queue that arrive while
 * an add is in flight travel as one job, within bounds; an idle queue sends at once; every
 * caller learns the fate of the job holding its batch.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Coalescer, type CoalesceBounds } from '../../src/queue/coalesce.js';

interface P {
  readonly id: string;
  readonly samples: number;
  readonly bytes: number;
}

const part = (id: string, samples = 500, bytes = 12_000): P => ({ id, samples, bytes });
const WIDE: CoalesceBounds = { maxParts: 64, maxSamples: 1_000_000, maxBytes: 1e9, waitMs: 0 };

/** A coalescer whose sends wait until released (or failed) by the test; it records each job's ids. */
function harness(bounds: Partial<CoalesceBounds> = {}) {
  const jobs: string[][] = [];
  const open: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  const c = new Coalescer<P>({ ...WIDE, ...bounds }, (parts) => {
    jobs.push(parts.map((p) => p.id));
    return new Promise<void>((resolve, reject) => open.push({ resolve, reject }));
  });
  /** Settles the oldest unsettled send. */
  const ack = async (err?: unknown): Promise<void> => {
    const next = open.shift();
    if (!next) throw new Error('no send in flight');
    if (err === undefined) next.resolve();
    else next.reject(err);
    await new Promise((r) => setImmediate(r));
  };
  return { c, jobs, ack, inFlight: () => open.length };
}

function settle(p: Promise<void>): Promise<'ok' | unknown> {
  return p.then(() => 'ok', (err: unknown) => err);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('producer group commit', () => {
  it('sends a batch for an idle queue at once, alone', async () => {
    const h = harness();
    const a = h.c.add(part('a'));
    expect(h.jobs).toEqual([['a']]);
    await h.ack();
    expect(await settle(a)).toBe('ok');
    expect(h.c.size).toEqual({ pending: 0, inFlight: 0 });
  });

  it('gathers the batches that arrive while an add is in flight into the next job', async () => {
    const h = harness();
    const a = h.c.add(part('a'));
    const rest = ['b', 'c', 'd', 'e'].map((id) => h.c.add(part(id)));
    expect(h.jobs).toEqual([['a']]);
    expect(h.c.size).toEqual({ pending: 4, inFlight: 1 });
    await h.ack();
    expect(await settle(a)).toBe('ok');
    expect(h.jobs).toEqual([['a'], ['b', 'c', 'd', 'e']]);
    // Not answered before their own job is acknowledged.
    let answered = false;
    void Promise.all(rest).then(() => { answered = true; });
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    await h.ack();
    expect(await Promise.all(rest.map(settle))).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('bounds a job by batches: a full job goes at once, beside the one in flight', async () => {
    const h = harness({ maxParts: 3 });
    const all = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => h.c.add(part(id)));
    expect(h.jobs).toEqual([['a'], ['b', 'c', 'd']]);
    expect(h.c.size).toEqual({ pending: 2, inFlight: 2 });
    await h.ack();
    expect(h.jobs).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f']]);
    await h.ack();
    await h.ack();
    expect(await Promise.all(all.map(settle))).toEqual(Array(6).fill('ok'));
  });

  it('bounds a job by samples and by bytes; a lone batch over a bound still goes, alone', async () => {
    const bySamples = harness({ maxSamples: 1000 });
    for (const id of ['a', 'b', 'c', 'd']) void bySamples.c.add(part(id, 400));
    // b and c make 800; d would make 1200, so b, c go and d starts the next job.
    expect(bySamples.jobs).toEqual([['a'], ['b', 'c']]);
    void bySamples.c.add(part('huge', 5000));
    expect(bySamples.jobs).toEqual([['a'], ['b', 'c'], ['d'], ['huge']]);

    const byBytes = harness({ maxBytes: 30_000 });
    for (const id of ['a', 'b', 'c', 'd']) void byBytes.c.add(part(id, 1, 10_000));
    expect(byBytes.jobs).toEqual([['a'], ['b', 'c', 'd']]);
    void byBytes.c.add(part('big', 1, 100_000));
    expect(byBytes.jobs).toEqual([['a'], ['b', 'c', 'd'], ['big']]);
  });

  it('gives the error of a job to every batch in it, and only to them', async () => {
    const h = harness();
    const a = h.c.add(part('a'));
    const inJob = [h.c.add(part('b')), h.c.add(part('c'))].map(settle);
    await h.ack();
    const boom = new Error('redis went away');
    await h.ack(boom);
    expect(await settle(a)).toBe('ok');
    expect(await Promise.all(inJob)).toEqual([boom, boom]);
    // The next batch is not affected.
    const d = h.c.add(part('d'));
    await h.ack();
    expect(await settle(d)).toBe('ok');
  });

  it('turns a send that throws into a rejection for the batches of its job', async () => {
    const c = new Coalescer<P>(WIDE, () => {
      throw new Error('not connected');
    });
    await expect(c.add(part('a'))).rejects.toThrow('not connected');
    expect(c.size).toEqual({ pending: 0, inFlight: 0 });
  });

  it('with maxParts 1 sends every batch as its own job, concurrently', () => {
    const h = harness({ maxParts: 1 });
    for (const id of ['a', 'b', 'c']) void h.c.add(part(id));
    expect(h.jobs).toEqual([['a'], ['b'], ['c']]);
    expect(h.inFlight()).toBe(3);
  });

  it('with a wait, holds a batch for an idle queue that long for company', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const h = harness({ waitMs: 2 });
    void h.c.add(part('a'));
    await vi.advanceTimersByTimeAsync(1);
    void h.c.add(part('b'));
    expect(h.jobs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.jobs).toEqual([['a', 'b']]);
  });

  it('drain sends what waits and resolves once nothing is in flight', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const h = harness({ waitMs: 1000 });
    const a = h.c.add(part('a'));
    let drained = false;
    const d = h.c.drain().then(() => { drained = true; });
    expect(h.jobs).toEqual([['a']]);
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toBe(false);
    await h.ack();
    await d;
    expect(await settle(a)).toBe('ok');
  });
});
