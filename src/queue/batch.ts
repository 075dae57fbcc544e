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
}

/** Remote-write protocol version of a payload. */
export type WireFormat = 1 | 2;

export interface BatchSummary {
  readonly samples: number;
  readonly minTs: number;
  readonly maxTs: number;
}

export function makeBatchJob(
  id: QueueIdentity, payload: Uint8Array, summary: BatchSummary, receivedAtMs: number, stripLabel?: string, format: WireFormat = 1,
): BatchJob {
  const job: BatchJob = {
    v: format,
    g: id.group ?? null,
    r: id.replica ?? null,
    n: summary.samples,
    t0: summary.minTs,
    t1: summary.maxTs,
    at: receivedAtMs,
    b: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64'),
  };
  return stripLabel === undefined ? job : { ...job, s: stripLabel };
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

export function batchPayload(job: BatchJob): Uint8Array {
  return Buffer.from(job.b, 'base64');
}
