/**
 * The soak's randomness: one seed (PROMFLEET_CHAOS_SEED, else a random one that the test prints)
 * drives small mulberry32 generators, one per independent lane of decisions, so a lane's choices
 * (which fault, how long, which process) are the same on every run with that seed whatever the
 * other lanes do.
 */
import { randomInt } from 'node:crypto';

/** A generator of floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: a tiny 32-bit PRNG, good enough to pick faults. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from `raw` (a decimal or 0x-hex uint32), or a fresh random one when unset or empty. */
export function chaosSeed(raw: string | undefined = process.env.PROMFLEET_CHAOS_SEED): number {
  if (raw === undefined || raw.trim() === '') return randomInt(0, 2 ** 32 - 1);
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`PROMFLEET_CHAOS_SEED must be an integer in [0, 2^32): ${raw}`);
  return n;
}

/** The seed of lane `lane` derived from the run's seed (distinct lanes, distinct streams). */
export function laneRng(seed: number, lane: number): Rng {
  const mix = mulberry32((seed ^ Math.imul(lane + 1, 0x9e3779b1)) >>> 0);
  return mulberry32(Math.floor(mix() * 4294967296));
}

/** An integer in [lo, hi], both included. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** One of `items` with probability proportional to its weight. */
export function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rng() * total;
  for (const [item, w] of items) {
    if (x < w) return item;
    x -= w;
  }
  return items[items.length - 1][0];
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}
