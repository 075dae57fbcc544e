import { describe, it, expect } from 'vitest';
import { Backoff } from '../../src/lib/backoff.js';

describe('backoff', () => {
  it('grows exponentially up to the cap, with jitter below the cap', () => {
    const top = new Backoff(100, 1000, () => 0.999);
    const waits = Array.from({ length: 8 }, () => top.next());
    expect(waits.slice(0, 4)).toEqual([99, 199, 399, 799]);
    expect(Math.max(...waits)).toBeLessThanOrEqual(1000);
    const bottom = new Backoff(100, 1000, () => 0);
    expect(bottom.next()).toBe(50);
  });

  it('starts over after a success', () => {
    const b = new Backoff(100, 1000, () => 0.999);
    b.next(); b.next(); b.next();
    expect(b.failing).toBe(true);
    b.reset();
    expect(b.failing).toBe(false);
    expect(b.next()).toBe(99);
  });
});
