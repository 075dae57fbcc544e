/**
 * Benchmark 1, the write path: decode, enqueue and write throughput, each beside the ceiling
 * that bounds it on this machine, measured in the same run.
 */
import { randomBytes } from 'node:crypto';
import { measureCopyCeiling } from './copy-ceiling.js';
import { measureDecode } from './decode.js';
import { fixtureBodies, syntheticBodies } from './payloads.js';
import { measureEnqueue, measureRawIngress, measureWorkerWrite } from './pipeline.js';
import type { Figure } from './report.js';
import { INGRESS_ARGS, SCALE, scaled } from './env.js';
import { BENCH_REDIS_URL, createScratchDatabase, deleteRedisPrefix, redisBytesUnder } from './scratch-db.js';

/** Sizes: small enough for the whole run to stay well under a minute on 2 cores. */
const SIZES = {
  scale: SCALE,
  copyRows: scaled(1_000_000, 10_000),
  copyRowsPerStatement: 100_000,
  batchCopyRows: scaled(100_000, 5_000),
  /** Rows per COPY in the batch-shaped ceiling: one remote-write request's worth. */
  batchCopyRowsPerStatement: 500,
  series: 10_000,
  seriesPerRequest: 500,
  requests: scaled(1_000, 20),
  decodeMs: scaled(2_000, 200),
  concurrency: 8,
} as const;

export interface BenchResult {
  readonly figures: Figure[];
  readonly details: Record<string, unknown>;
  readonly errors: string[];
}

export async function writePathBenchmark(say: (line: string) => void): Promise<BenchResult> {
  const figures: Figure[] = [];
  const details: Record<string, unknown> = { sizes: SIZES, ingressArgs: INGRESS_ARGS };
  const errors: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    say(`  ${what} …`);
    try {
      return await fn();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
      say(`  ${what} failed: ${(err as Error).message}`);
      return undefined;
    }
  };

  const db = await createScratchDatabase();
  const prefix = `pfbench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  try {
    // (a) Ceilings: raw binary COPY, bulk and batch-shaped.
    const copy = await attempt('raw binary COPY', () => measureCopyCeiling({
      url: db.url, table: 'ceiling_samples', series: SIZES.series, rows: SIZES.copyRows, rowsPerCopy: SIZES.copyRowsPerStatement,
    }));
    const batchCopy = await attempt('raw binary COPY, one request per statement', () => measureCopyCeiling({
      url: db.url, table: 'ceiling_batch_samples', series: SIZES.series, rows: SIZES.batchCopyRows, rowsPerCopy: SIZES.batchCopyRowsPerStatement,
    }));
    if (copy !== undefined) figures.push({ name: 'raw COPY', value: copy, unit: 'rows/s', note: `binary COPY, ${SIZES.copyRowsPerStatement} rows a statement, (series_id, time) index, one connection` });
    if (batchCopy !== undefined) {
      figures.push({
        name: 'raw COPY/500', value: batchCopy, unit: 'rows/s',
        ...(copy !== undefined ? { ceiling: { name: 'raw COPY', value: copy } } : {}),
        note: `binary COPY, ${SIZES.batchCopyRowsPerStatement} rows a statement (one request's worth)`,
      });
    }

    // (b) Decode, over the captured Prometheus requests (synthetic ones when they are absent).
    const fixtures = fixtureBodies();
    const startMs = Date.now() - 3_600_000;
    const decodeBodies = fixtures.length > 0
      ? fixtures
      : syntheticBodies({ series: SIZES.series, seriesPerRequest: SIZES.seriesPerRequest, requests: 100, startMs }).bodies;
    details.decodeInput = fixtures.length > 0 ? `fixtures (${fixtures.length} bodies)` : 'synthetic (fixtures not found)';
    const decode = await attempt('decode', async () => measureDecode(decodeBodies, SIZES.decodeMs));
    if (decode) {
      details.decode = decode;
      figures.push({
        name: 'decode', value: decode.promfleet, unit: 'samples/s',
        ceiling: { name: 'snappy alone', value: decode.snappyOnly },
        peers: [{ name: 'protobufjs', value: decode.protobufjs }],
        note: 'snappy block decompression + WriteRequest decode, one core',
      });
    }

    // (c) Enqueue through promfleet's ingress, then write queued batches with its worker.
    // With HA labels (what a Prometheus pair sends): the replica label is stripped, so every
    // body is re-encoded. Those batches wait for an elected leader, so the worker is measured
    // on a second queue filled with the same series without HA labels (written unconditionally).
    const ha = syntheticBodies({
      series: SIZES.series, seriesPerRequest: SIZES.seriesPerRequest, requests: SIZES.requests, startMs,
      external: { cluster: 'bench', __replica__: 'r1' },
    });
    const plain = syntheticBodies({ series: SIZES.series, seriesPerRequest: SIZES.seriesPerRequest, requests: SIZES.requests, startMs });
    const common = { redisUrl: BENCH_REDIS_URL, pgUrl: db.url, schema: 'bench', concurrency: SIZES.concurrency };
    const haLoad = { ...ha, ...common, prefix: `${prefix}_ha` };
    const plainLoad = { ...plain, ...common, prefix: `${prefix}_plain` };
    const raw = await attempt('raw ingress (http + RPUSH)', () => measureRawIngress(haLoad));
    if (raw) details.rawIngress = raw;
    const enqueue = await attempt('enqueue (promfleet ingress, HA labels)', () => measureEnqueue({ ...haLoad, extraArgs: INGRESS_ARGS }));
    const enqueuePlain = await attempt('enqueue (promfleet ingress, no HA labels)', () => measureEnqueue({ ...plainLoad, extraArgs: INGRESS_ARGS }));
    const allAnswered = (r: { statuses: Record<string, number> } | undefined, what: string): boolean => {
      if (!r) return false;
      const ok = r.statuses['204'] ?? 0;
      if (ok !== SIZES.requests) errors.push(`${what}: ${ok} of ${SIZES.requests} requests answered 204: ${JSON.stringify(r.statuses)}`);
      return ok === SIZES.requests;
    };
    if (enqueue) {
      details.enqueue = enqueue;
      allAnswered(enqueue, 'enqueue');
      figures.push({
        name: 'enqueue', value: enqueue.samplesPerSec, unit: 'samples/s',
        ...(raw ? { ceiling: { name: 'http+RPUSH', value: raw.samplesPerSec } } : {}),
        ...(decode ? { peers: [{ name: 'decode', value: decode.promfleet }] } : {}),
        note: `POST /write → 204, ${SIZES.concurrency} connections, ${SIZES.seriesPerRequest} series a request, cluster/__replica__ labels; ${enqueue.jobs ?? '?'} queue jobs for ${SIZES.requests} requests`,
      });
    }
    if (enqueuePlain) {
      details.enqueuePlain = enqueuePlain;
      figures.push({
        name: 'enqueue/noHA', value: enqueuePlain.samplesPerSec, unit: 'samples/s',
        ...(raw ? { ceiling: { name: 'http+RPUSH', value: raw.samplesPerSec } } : {}),
        note: `the same without HA labels: the body is queued as received, no re-encode; ${enqueuePlain.jobs ?? '?'} queue jobs for ${SIZES.requests} requests`,
      });
    }
    if (allAnswered(enqueuePlain, 'enqueue/noHA')) {
      // Redis memory of the queued batches, before the worker takes them.
      const mem = await attempt('queue memory (MEMORY USAGE)', () => redisBytesUnder(BENCH_REDIS_URL, plainLoad.prefix));
      if (mem) {
        const perSample = mem.bytes / plain.samples;
        const bodyPerSample = plain.bodies.reduce((n, b) => n + b.length, 0) / plain.samples;
        details.queueMemory = { ...mem, perSample, bodyPerSample, outage1h100kGB: (perSample * 100_000 * 3600) / 1e9 };
        figures.push({
          name: 'queue bytes', value: perSample, unit: 'B/sample',
          peers: [{ name: 'snappy body', value: bodyPerSample }, { name: 'target 40 B', value: 40 }],
          note: `Redis MEMORY USAGE of every key of the queue (${mem.keys} keys) per queued sample; 1 h at 100k samples/s = ${((perSample * 100_000 * 3600) / 1e9).toFixed(1)} GB (target <= 16 GB)`,
        });
        figures.push({
          name: 'outage 1 h', value: (perSample * 100_000 * 3600) / 1e9, unit: 'GB of Redis',
          peers: [{ name: 'target 16 GB', value: 16 }],
          note: 'what a one-hour database outage at 100k samples/s queues, at the measured bytes per sample',
        });
      }

      const write = await attempt('write (promfleet worker)', () => measureWorkerWrite({
        pgUrl: db.url, schema: 'bench', redisUrl: BENCH_REDIS_URL, prefix: plainLoad.prefix, batches: SIZES.requests, samples: plain.samples,
      }));
      if (write) {
        details.write = write;
        figures.push({
          name: 'write', value: write.steadySamplesPerSec, unit: 'samples/s',
          ...(copy !== undefined ? { ceiling: { name: 'raw COPY', value: copy } } : {}),
          ...(batchCopy !== undefined ? { peers: [{ name: 'raw COPY/500', value: batchCopy }] } : {}),
          note: `queue → PostgreSQL from the worker's first commit to its last, default worker settings (${write.transactions} transactions)`,
        });
        figures.push({
          name: 'write/cold', value: write.samplesPerSec, unit: 'samples/s',
          ...(copy !== undefined ? { ceiling: { name: 'raw COPY', value: copy } } : {}),
          note: `the same from the worker's start: start-up and the ${SIZES.series} first-seen series included`,
        });
      }
    }
  } finally {
    for (const p of [`${prefix}_ha`, `${prefix}_plain`]) {
      await deleteRedisPrefix(BENCH_REDIS_URL, p).catch((err: unknown) => errors.push(`redis clean-up ${p}: ${(err as Error).message}`));
    }
    await db.drop().catch((err: unknown) => errors.push(`drop ${db.name}: ${(err as Error).message}`));
  }
  return { figures, details, errors };
}
