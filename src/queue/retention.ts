import type { Queue } from 'bullmq';
import { isQueuedJob, partCount } from './batch.js';

export interface RetentionPolicy {
  /** The group's newest committed sample time (ms), undefined when nothing was written yet. */
  readonly watermarkMs: number | undefined;
  /** A batch is redundant once the watermark passed its newest sample by this much (ms). */
  readonly marginMs: number;
  /** A batch received longer ago than this is dropped whatever the watermark (ms). */
  readonly maxAgeMs: number;
  readonly nowMs: number;
}

export interface SweepResult {
  /** Batches removed (a job of several batches counts each). */
  readonly redundant: number;
  readonly expired: number;
  /** Jobs still waiting. */
  readonly remaining: number;
  /** Samples in the removed batches (for backlog accounting). */
  readonly removedSamples: number;
}

/** How many of the oldest waiting batches one sweep looks at (a sweep runs every scan). */
const PAGE = 200;

/**
 * Follower retention (see docs/ha.md): a follower's batches wait in its unconsumed queue so that a
 * takeover can fill the election window from them. They go once the leader has committed past
 * their newest sample by the safety margin (then they are redundant), or once they are older
 * than the retention bound.
 */
export async function sweepFollowerQueue(queue: Queue, policy: RetentionPolicy): Promise<SweepResult> {
  let redundant = 0;
  let expired = 0;
  let removedSamples = 0;
  const jobs = await queue.getJobs(['wait', 'prioritized', 'delayed'], 0, PAGE - 1, true);
  for (const job of jobs) {
    if (!isQueuedJob(job.data)) continue;
    const d = job.data;
    const isRedundant = policy.watermarkMs !== undefined && (d.n === 0 || d.t1 + policy.marginMs <= policy.watermarkMs);
    const isExpired = policy.nowMs - d.at > policy.maxAgeMs;
    if (!isRedundant && !isExpired) continue;
    try {
      await job.remove();
      // A job's n, t1 and at are over all its batches: it goes whole, once its newest sample is
      // redundant or its oldest receipt expired.
      if (isRedundant) redundant += partCount(d);
      else expired += partCount(d);
      removedSamples += d.n;
    } catch {
      // Taken or removed meanwhile (by a worker that just became its consumer, or another sweeper).
    }
  }
  const remaining = await queue.getJobCountByTypes('wait', 'prioritized', 'delayed');
  return { redundant, expired, remaining, removedSamples };
}
