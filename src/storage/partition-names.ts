import { PromfleetError } from '../errors.js';

/**
 * Pure arithmetic of native partitions: every partition covers [start, start + interval) with
 * start a multiple of the interval counted from the Unix epoch, so every process computes the
 * same boundaries and concurrent creators collide on the same name instead of overlapping.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Partition bounds are written as ISO timestamps, which PostgreSQL reads for years 1..9999. */
export const MIN_PARTITION_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_PARTITION_MS = Date.parse('9999-01-01T00:00:00.000Z');

export function assertPartitionInterval(intervalMs: number): void {
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0 || intervalMs % MINUTE_MS !== 0) {
    throw new TypeError(`partition interval must be a positive whole number of minutes in ms, got ${intervalMs}`);
  }
}

/** Start (ms) of the partition holding `timeMs`; floor, so times before 1970 work too. */
export function partitionStart(timeMs: number, intervalMs: number): number {
  return Math.floor(timeMs / intervalMs) * intervalMs;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `samples_yyyymmdd` for whole days, `samples_yyyymmddhh` for whole hours, else `..hhmm`. */
export function partitionName(startMs: number, intervalMs: number): string {
  const d = new Date(startMs);
  let name = `samples_${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}`;
  if (intervalMs % DAY_MS !== 0) name += pad(d.getUTCHours(), 2);
  if (intervalMs % HOUR_MS !== 0) name += pad(d.getUTCMinutes(), 2);
  return name;
}

/** Refuses sample times PostgreSQL partitions cannot hold (also NaN and ±Infinity). */
export function assertPartitionableTime(timeMs: number): void {
  if (!(timeMs >= MIN_PARTITION_MS && timeMs < MAX_PARTITION_MS)) {
    throw new PromfleetError('INVALID_SAMPLE', `sample time ${timeMs} ms is outside the storable range (years 1 to 9998)`);
  }
}

export function isoBound(ms: number): string {
  return new Date(ms).toISOString();
}

/** Inverse of partitionName for partitions this interval would have created, else undefined. */
export function partitionStartFromName(name: string, intervalMs: number): number | undefined {
  const m = /^samples_(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?$/.exec(name);
  if (!m) return undefined;
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4] ?? 0), Number(m[5] ?? 0), 0, 0);
  const start = d.getTime();
  if (start % intervalMs !== 0 || partitionName(start, intervalMs) !== name) return undefined;
  return start;
}
