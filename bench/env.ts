/** Benchmark settings from the environment, checked once; a bad value stops the run with its name. */

function envNumber(name: string, def: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw.trim().replace(/k$/i, 'e3').replace(/m$/i, 'e6'));
  if (!(v >= min && v <= max)) throw new Error(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return v;
}

/** PROMFLEET_BENCH_SCALE (default 1) shrinks or grows every size, e.g. 0.1 for a smoke run. */
export const SCALE = envNumber('PROMFLEET_BENCH_SCALE', 1, 0.001, 10);

export const scaled = (n: number, min: number) => Math.max(min, Math.round(n * SCALE));

const E2E_SECONDS = envNumber('PROMFLEET_BENCH_E2E_SECONDS', 300, 5, 3600);

/**
 * End-to-end load: seconds (default 300: five minutes), target rate, series, replicas. The run
 * with the queue on PostgreSQL takes `pgSeconds` (default the same), so the two compare like for
 * like unless a shorter run is asked for.
 */
export const E2E = {
  seconds: E2E_SECONDS,
  pgSeconds: envNumber('PROMFLEET_BENCH_E2E_PG_SECONDS', E2E_SECONDS, 5, 3600),
  rate: envNumber('PROMFLEET_BENCH_E2E_RATE', 600_000, 1000, 10_000_000),
  series: envNumber('PROMFLEET_BENCH_E2E_SERIES', 10_000, 500, 10_000_000),
  replicas: envNumber('PROMFLEET_BENCH_E2E_REPLICAS', 2, 1, 10),
};

/** Peers: seconds of load each (default 15). */
export const PEER_SECONDS = envNumber('PROMFLEET_BENCH_PEER_SECONDS', 15, 3, 3600);

/** New-series benchmark: first-seen label sets (default 1M). */
export const NEW_SERIES = envNumber('PROMFLEET_BENCH_NEW_SERIES', 1_000_000, 1000, 10_000_000);

/** Growth benchmark: rows stored before the second measurement (default 100M). */
export const GROWTH_ROWS = envNumber('PROMFLEET_BENCH_GROWTH_ROWS', 100_000_000, 1_000_000, 1_000_000_000);

/** Peers: target rate (default 2M samples/s: as fast as each takes it, or as the load generator sends). */
export const PEER_RATE = envNumber('PROMFLEET_BENCH_PEER_RATE', 2_000_000, 1000, 100_000_000);

/**
 * Extra flags for the in-process ingress of the write-path benchmark (default none), to compare
 * settings in one checkout, e.g. "--queue.job-max-batches=1" for one queue job per request.
 * The e2e processes read PROMFLEET_* variables themselves (e.g. PROMFLEET_QUEUE_JOB_MAX_BATCHES=1).
 */
export const INGRESS_ARGS: readonly string[] = (process.env.PROMFLEET_BENCH_INGRESS_ARGS ?? '').split(/\s+/).filter(Boolean);
