import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GroupCommit, type GroupCommitOptions } from '../../src/worker/group-commit.js';

class BadItem extends Error {
  override name = 'BadItem';
}
class Away extends Error {
  override name = 'Away';
}

/** A GroupCommit over strings that records every transaction it is asked for. */
function recorder(opts: Partial<GroupCommitOptions<string, string>> = {}) {
  const transactions: string[][] = [];
  let fail: ((items: readonly string[]) => Error | undefined) | undefined;
  const g = new GroupCommit<string, string>({
    maxSamples: 1000,
    maxCallers: 100,
    waitMs: 5,
    isolate: (err) => err instanceof BadItem,
    write: async (items) => {
      transactions.push([...items]);
      const err = fail?.(items);
      if (err) throw err;
      return items.map((i) => `ok ${i}`);
    },
    ...opts,
  });
  return { g, transactions, failWith: (f: typeof fail) => { fail = f; } };
}

function settle<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  return p.then((ok) => ({ ok }), (err: unknown) => ({ err }));
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('group commit', () => {
  it('writes items that arrive within the wait in one transaction, each caller getting its own result', async () => {
    const { g, transactions } = recorder();
    const a = g.add('a', 10);
    await vi.advanceTimersByTimeAsync(2);
    const b = g.add('b', 10);
    const c = g.add('c', 10);
    expect(transactions).toEqual([]);
    await vi.advanceTimersByTimeAsync(3);
    expect(await Promise.all([a, b, c])).toEqual(['ok a', 'ok b', 'ok c']);
    expect(transactions).toEqual([['a', 'b', 'c']]);
  });

  it('writes at once when the pending samples reach the bound, without waiting', async () => {
    const { g, transactions } = recorder({ maxSamples: 100 });
    const first = [g.add('a', 60), g.add('b', 60)];
    const c = g.add('c', 10);
    await vi.advanceTimersByTimeAsync(0);
    expect(transactions).toEqual([['a', 'b']]);
    await Promise.all(first);
    await vi.advanceTimersByTimeAsync(5);
    await c;
    expect(transactions).toEqual([['a', 'b'], ['c']]);
  });

  it('counts a job of several items as one of the consumer\'s slots, not one per item', async () => {
    const { g, transactions } = recorder({ maxCallers: 3 });
    // Two jobs of four batches each: eight items, but two of three slots; the wait still applies.
    const jobA = g.addAll(['a1', 'a2', 'a3', 'a4'].map((item) => ({ item, samples: 1 })));
    const jobB = g.addAll(['b1', 'b2', 'b3', 'b4'].map((item) => ({ item, samples: 1 })));
    await vi.advanceTimersByTimeAsync(0);
    expect(transactions).toEqual([]);
    // The third job takes the last slot: nothing else can come, so all go now, in one transaction.
    const jobC = g.addAll([{ item: 'c1', samples: 1 }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(transactions).toEqual([['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4', 'c1']]);
    expect(await Promise.all([...jobA, ...jobB, ...jobC])).toEqual(
      ['ok a1', 'ok a2', 'ok a3', 'ok a4', 'ok b1', 'ok b2', 'ok b3', 'ok b4', 'ok c1']);
  });

  it('lets the items of one job fail apart: only the culprit gets the data error', async () => {
    const { g, transactions, failWith } = recorder();
    failWith((items) => (items.includes('bad') ? new BadItem('refused') : undefined));
    const results = g.addAll(['x', 'bad', 'y'].map((item) => ({ item, samples: 1 })));
    await vi.advanceTimersByTimeAsync(5);
    const settled = await Promise.all(results.map(settle));
    expect(settled[0]).toEqual({ ok: 'ok x' });
    expect((settled[1] as { err: unknown }).err).toBeInstanceOf(BadItem);
    expect(settled[2]).toEqual({ ok: 'ok y' });
    expect(transactions).toEqual([['x', 'bad', 'y'], ['x'], ['bad'], ['y']]);
  });

  it('writes at once when every job the consumer may run is waiting or being written', async () => {
    const { g, transactions } = recorder({ maxCallers: 3 });
    const first = [g.add('a', 1), g.add('b', 1), g.add('c', 1)];
    await vi.advanceTimersByTimeAsync(0);
    expect(transactions).toEqual([['a', 'b', 'c']]);
    await Promise.all(first);
    // Two slots in flight, one arrives: all three slots are taken, nothing else can come.
    const releases: (() => void)[] = [];
    const slow = recorder({ maxCallers: 3, write: async (items) => { await new Promise<void>((r) => releases.push(r)); return items.map((i) => i); } });
    const held = [slow.g.add('x', 1), slow.g.add('y', 1)];
    await vi.advanceTimersByTimeAsync(5);
    expect(slow.g.size).toEqual({ pending: 0, inFlight: 2 });
    const z = slow.g.add('z', 1);
    expect(slow.g.size).toEqual({ pending: 0, inFlight: 3 });
    expect(releases).toHaveLength(2);
    for (const r of releases) r();
    expect(await Promise.all([...held, z])).toEqual(['x', 'y', 'z']);
  });

  it('gives every item the error of a transient failure, without retrying them one by one', async () => {
    const { g, transactions, failWith } = recorder();
    failWith(() => new Away('database away'));
    const results = [settle(g.add('a', 1)), settle(g.add('b', 1))];
    await vi.advanceTimersByTimeAsync(5);
    const settled = await Promise.all(results);
    expect(settled.map((s) => ('err' in s ? (s.err as Error).message : 'ok'))).toEqual(['database away', 'database away']);
    expect(transactions).toEqual([['a', 'b']]);
  });

  it('after a data error writes the items one per transaction so that only the faulty one fails', async () => {
    const { g, transactions, failWith } = recorder();
    failWith((items) => (items.includes('bad') ? new BadItem('value out of range') : undefined));
    const results = ['a', 'bad', 'c'].map((i) => settle(g.add(i, 1)));
    await vi.advanceTimersByTimeAsync(5);
    const settled = await Promise.all(results);
    expect(settled[0]).toEqual({ ok: 'ok a' });
    expect(settled[1]).toEqual({ err: expect.any(BadItem) as unknown });
    expect(settled[2]).toEqual({ ok: 'ok c' });
    expect(transactions).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('rejects every item when the writer answers for the wrong number of items', async () => {
    const g = new GroupCommit<string, string>({ maxSamples: 10, maxCallers: 10, waitMs: 0, isolate: () => false, write: async () => ['only one'] });
    const results = [settle(g.add('a', 1)), settle(g.add('b', 1))];
    await vi.advanceTimersByTimeAsync(0);
    for (const r of await Promise.all(results)) expect('err' in r && (r.err as Error).message).toMatch(/1 results for 2 items/);
  });

  it('refuses bounds that could never flush', () => {
    expect(() => new GroupCommit({ maxSamples: 0, maxCallers: 1, waitMs: 0, isolate: () => false, write: async () => [] })).toThrow(RangeError);
  });
});

describe('group commit with a bound on concurrent transactions', () => {
  it('holds what arrives while the bound is reached and writes it together as soon as a transaction ends', async () => {
    const releases: Array<() => void> = [];
    const transactions: string[][] = [];
    const g = new GroupCommit<string, string>({
      maxSamples: 1000, maxCallers: 100, waitMs: 0, maxConcurrent: 1, isolate: () => false,
      write: async (items) => {
        transactions.push([...items]);
        await new Promise<void>((resolve) => releases.push(resolve));
        return items.map((i) => `ok ${i}`);
      },
    });
    const a = g.add('a', 10);
    await vi.advanceTimersByTimeAsync(1);
    const rest = ['b', 'c', 'd'].map((x) => g.add(x, 10));
    await vi.advanceTimersByTimeAsync(5);
    expect(transactions).toEqual([['a']]);
    releases.shift()?.();
    await a;
    await vi.advanceTimersByTimeAsync(0);
    expect(transactions).toEqual([['a'], ['b', 'c', 'd']]);
    releases.shift()?.();
    expect(await Promise.all(rest)).toEqual(['ok b', 'ok c', 'ok d']);
  });

  it('splits what is held into transactions of at most maxSamples', async () => {
    const transactions: string[][] = [];
    let release: () => void = () => undefined;
    const g = new GroupCommit<string, string>({
      maxSamples: 20, maxCallers: 100, waitMs: 0, maxConcurrent: 2, isolate: () => false,
      write: async (items) => {
        transactions.push([...items]);
        if (transactions.length === 1) await new Promise<void>((resolve) => { release = resolve; });
        return items.map((i) => `ok ${i}`);
      },
    });
    const all = ['a', 'b', 'c', 'd', 'e'].map((x) => g.add(x, 10));
    await vi.advanceTimersByTimeAsync(1);
    release();
    await Promise.all(all);
    expect(transactions).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });
});
