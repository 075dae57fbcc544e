import { describe, it, expect } from 'vitest';
import { backlogFigure, backlogGrows, type BacklogPoint } from '../../bench/backlog.js';

const at = (atSeconds: number, backlog: number): BacklogPoint => ({ atSeconds, enqueued: backlog + 1000, durable: 1000, backlog });

describe('the e2e backlog line', () => {
  it('says growing when the backlog at the end is well over the one at minute 2, and not for a flat one', () => {
    const flat = [at(60, 50_000), at(120, 40_000), at(180, 52_000), at(240, 41_000), at(300, 44_000)];
    const rising = [at(60, 50_000), at(120, 80_000), at(180, 150_000), at(240, 220_000), at(300, 300_000)];
    expect(backlogGrows(flat, 120, 10_000)).toBe(false);
    expect(backlogGrows(rising, 120, 10_000)).toBe(true);
    expect(backlogFigure('e2e backlog', flat, 10_000).note).toMatch(/not growing/);
    expect(backlogFigure('e2e backlog', rising, 10_000).note).toMatch(/growing: the worker did not keep up/);
  });

  it('prints every reading as a part and the minute-2 reading as its peer', () => {
    const f = backlogFigure('e2e backlog', [at(60, 1), at(120, 2), at(300, 3)], 100);
    expect(f.value).toBe(3);
    expect(f.peers).toEqual([{ name: 'at 120 s', value: 2 }]);
    expect(f.parts?.map((p) => p.name)).toEqual(['60 s', '120 s', '300 s']);
  });
});
