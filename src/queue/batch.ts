import { createHash } from 'node:crypto';
import type { QueueIdentity } from './names.js';

/**
 * What travels through Redis for one batch. The samples stay in Prometheus's own wire form,
 * snappy-compressed protobuf (about 20-25 bytes per sample), base64 in the job's JSON: Redis
 * memory per queued sample is what absorbs a database outage, so no JSON object per sample.
 */
export interface BatchJob {
  /**
   * Encoding version, so a rolling upgrade can tell old jobs from new ones: 1, b holds a
   * remote-write 1.0 message; 2, b holds a remote-write 2.0 message. A worker that predates
   * 2.0 refuses a v 2 job (it goes to the failed set, to be retried once workers are upgraded)
   * instead of decoding it as 1.0, which would read it as an empty request: 2.0 reserves 1.0's
   * field numbers precisely so that a mismatched decoder sees no series.
   * A job of several batches is a PartsJob, v 3: workers that predate it refuse it the same way
   * (it has no b), so they never read it as one batch.
   */
  readonly v: WireFormat;
  readonly g: string | null;
  readonly r: string | null;
  /** Samples and native histograms in the batch (for backlog accounting without decoding). */
  readonly n: number;
  /** Oldest and newest sample time, ms (0 when the batch carries only metadata). */
  readonly t0: number;
  readonly t1: number;
  /** Ingress receive time, ms. */
  readonly at: number;
  /** snappy(prometheus.WriteRequest), or snappy(io.prometheus.write.v2.Request) when v is 2; base64. */
  readonly b: string;
  /** A label to remove from every series before writing (the HA replica label), when still in b. */
  readonly s?: string;
  /**
   * A label to add, with g as its value, to every series that lacks it: the HA cluster label,
   * when the ingress took the group from --ha.group rather than from the series. The stored
   * label set then names the group, so two groups sending one label set store a series each.
   * Applied after s. A worker that predates it ignores it (and stores the label set as sent).
   */
  readonly c?: string;
}

/** One batch inside a PartsJob: what a one-batch job holds, less what the parts share. */
export interface BatchPart {
  /** The batch id (batchId of its queue and payload), recorded in the ledger on its own. */
  readonly i: string;
  readonly v: WireFormat;
  readonly n: number;
  readonly b: string;
  readonly s?: string;
  readonly c?: string;
}

/**
 * Several batches of one queue in one job (the ingress gathers requests that arrive while an
 * add to their queue is in flight). g, r, n, t0, t1 and at are over all parts: n the sum, t0
 * the oldest sample of the parts that carry samples, t1 the newest, at the earliest receipt.
 */
export interface PartsJob {
  readonly v: 3;
  readonly g: string | null;
  readonly r: string | null;
  readonly n: number;
  readonly t0: number;
  readonly t1: number;
  readonly at: number;
  readonly p: readonly BatchPart[];
}

/** What a write queue holds: one batch, or several of the same queue. */
export type QueuedJob = BatchJob | PartsJob;

/** Remote-write protocol version of a payload. */
export type WireFormat = 1 | 2;

export interface BatchSummary {
  readonly samples: number;
  readonly minTs: number;
  readonly maxTs: number;
}

/** One batch as the producer hands it to makeJob. */
export interface PartInput {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly format: WireFormat;
  readonly summary: BatchSummary;
  readonly stripLabel?: string;
  readonly groupLabel?: string;
  readonly receivedAtMs: number;
}

function base64(payload: Uint8Array): string {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
}

export function makeBatchJob(
  id: QueueIdentity, payload: Uint8Array, summary: BatchSummary, receivedAtMs: number, stripLabel?: string, format: WireFormat = 1,
  groupLabel?: string,
): BatchJob {
  const job: BatchJob = {
    v: format,
    g: id.group ?? null,
    r: id.replica ?? null,
    n: summary.samples,
    t0: summary.minTs,
    t1: summary.maxTs,
    at: receivedAtMs,
    b: base64(payload),
  };
  return withLabels(job, stripLabel, groupLabel);
}

/** A job or part with its s and c fields, each only when set (jobs stay as small as before). */
function withLabels<T extends { readonly s?: string; readonly c?: string }>(x: T, stripLabel: string | undefined, groupLabel: string | undefined): T {
  if (stripLabel === undefined && groupLabel === undefined) return x;
  return {
    ...x,
    ...(stripLabel === undefined ? {} : { s: stripLabel }),
    ...(groupLabel === undefined ? {} : { c: groupLabel }),
  };
}

/**
 * The job for batches of one queue, and its id: a lone batch is a BatchJob whose id is its batch
 * id (so the queue drops an exact resend while the first is still queued); several make a
 * PartsJob whose id is derived from the parts' ids (partsJobId).
 */
export function makeJob(id: QueueIdentity, parts: readonly PartInput[]): { jobId: string; data: QueuedJob } {
  if (parts.length === 1) {
    const p = parts[0];
    return { jobId: p.id, data: makeBatchJob(id, p.payload, p.summary, p.receivedAtMs, p.stripLabel, p.format, p.groupLabel) };
  }
  let n = 0;
  let t0 = Infinity;
  let t1 = -Infinity;
  let at = Infinity;
  const p: BatchPart[] = [];
  for (const part of parts) {
    const s = part.summary;
    n += s.samples;
    if (s.samples > 0) {
      t0 = Math.min(t0, s.minTs);
      t1 = Math.max(t1, s.maxTs);
    }
    at = Math.min(at, part.receivedAtMs);
    const one: BatchPart = { i: part.id, v: part.format, n: s.samples, b: base64(part.payload) };
    p.push(withLabels(one, part.stripLabel, part.groupLabel));
  }
  const data: PartsJob = {
    v: 3, g: id.group ?? null, r: id.replica ?? null, n, t0: n > 0 ? t0 : 0, t1: n > 0 ? t1 : 0, at, p,
  };
  return { jobId: partsJobId(parts.map((x) => x.id)), data };
}

/**
 * A PartsJob's id: sha256 of its batch ids in sorted order, so the same requests gathered again
 * (in any order) make the same job, and the queue drops the copy while the first is queued.
 */
export function partsJobId(ids: readonly string[]): string {
  const h = createHash('sha256').update('parts');
  for (const id of [...ids].sort()) h.update('\0').update(id);
  return h.digest().subarray(0, 16).toString('base64url');
}

/** The wire format of a job's payload. */
export function batchFormat(job: BatchJob): WireFormat {
  return job.v;
}

/**
 * Batch ids are content addresses: sha256 of the queue and the payload, 128 bits in base64url.
 * Prometheus resends the same bytes after a 5xx, so a request that was enqueued but whose
 * answer was lost produces the same id again, and the queue and the ledger drop the copy.
 */
export function batchId(queue: string, payload: Uint8Array): string {
  return createHash('sha256').update(queue).update('\0').update(payload).digest().subarray(0, 16).toString('base64url');
}

export function isBatchJob(data: unknown): data is BatchJob {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return (d.v === 1 || d.v === 2) && typeof d.b === 'string' && typeof d.n === 'number';
}

function isPart(data: unknown): data is BatchPart {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return typeof d.i === 'string' && (d.v === 1 || d.v === 2) && typeof d.b === 'string' && typeof d.n === 'number';
}

export function isQueuedJob(data: unknown): data is QueuedJob {
  if (isBatchJob(data)) return true;
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return d.v === 3 && typeof d.n === 'number' && Array.isArray(d.p) && d.p.length > 0 && d.p.every(isPart);
}

/**
 * The job with only the named batches, for a dead letter of several batches of which only some
 * were refused: the others are written, and a retry, however late (after the ledger forgot
 * them), must not write them again. n is over the kept batches; t0, t1 and at stay (outer
 * bounds). Undefined when there is nothing to narrow (a one-batch job, or every batch named).
 */
export function narrowJob(job: QueuedJob, keep: ReadonlySet<string>): PartsJob | undefined {
  if (job.v !== 3) return undefined;
  const p = job.p.filter((part) => keep.has(part.i));
  if (p.length === 0 || p.length === job.p.length) return undefined;
  return { ...job, n: p.reduce((sum, part) => sum + part.n, 0), p };
}

/** Batches a job holds (1 for a BatchJob). */
export function partCount(job: QueuedJob): number {
  return job.v === 3 ? job.p.length : 1;
}

/** One batch as the worker writes it, whichever job shape brought it. */
export interface QueuedBatch {
  /** The batch id recorded in the ledger. */
  readonly id: string;
  readonly format: WireFormat;
  readonly group: string | undefined;
  readonly replica: string | undefined;
  readonly strip: string | undefined;
  /** The label to add with the group as its value to series without it (see BatchJob.c), after strip. */
  readonly groupLabel: string | undefined;
  /** Samples and histograms, as counted by the ingress. */
  readonly samples: number;
  readonly payload: Uint8Array;
}

/** The batches of a job, in order; a BatchJob's one batch has the job's id. */
export function jobBatches(jobId: string, job: QueuedJob): QueuedBatch[] {
  const group = job.g ?? undefined;
  const replica = job.r ?? undefined;
  if (job.v !== 3) {
    return [{
      id: jobId, format: job.v, group, replica, strip: job.s, groupLabel: labelOf(job.c, group), samples: job.n, payload: Buffer.from(job.b, 'base64'),
    }];
  }
  return job.p.map((p) => ({
    id: p.i, format: p.v, group, replica, strip: p.s, groupLabel: labelOf(p.c, group), samples: p.n, payload: Buffer.from(p.b, 'base64'),
  }));
}

/** The label to add, when the job names one and has a group to give it. */
function labelOf(c: unknown, group: string | undefined): string | undefined {
  return typeof c === 'string' && c !== '' && group !== undefined ? c : undefined;
}
