import type { Job, Queue, Worker } from 'bullmq';
import type { QueueCuts } from './time-index.js';

/**
 * Every queue-specific part promfleet keeps beside BullMQ's own jobs, behind one interface so
 * that the queue can live in another store (see docs/architecture.md, "Queue backends"). The
 * producer, the consumer, the follower work, the election and the dead-letter CLI reach the
 * store only through it.
 */

/** The write queues there are (workers find new (group, replica) queues here). */
export interface QueueRegistryStore {
  register(name: string): Promise<void>;
  list(): Promise<string[]>;
}

/** Samples waiting per queue: the bound behind 503 QUEUE_FULL. Never below zero. */
export interface BacklogStore {
  add(queue: string, samples: number): Promise<void>;
  remove(queue: string, samples: number): Promise<void>;
  reset(queue: string): Promise<void>;
  total(queues: readonly string[]): Promise<number>;
}

/**
 * The data times of an HA queue's jobs (see time-index.ts for what each method guarantees: a
 * job is indexed before it is added; the accepted watermark never goes down; dropRedundant
 * never removes a job a worker holds and subtracts what it removed from the backlog).
 */
export interface TimeIndexStore {
  index(queue: string, jobId: string, t0: number, t1: number): Promise<void>;
  unindex(queue: string, jobIds: readonly string[]): Promise<void>;
  writtenThrough(queue: string, jobId: string, writtenThroughMs: number): Promise<void>;
  raiseAccepted(queue: string, oldestMs: number, newestMs: number, quietAfterMs: number): Promise<void>;
  accepted(queue: string): Promise<number | undefined>;
  quietAfter(queue: string, afterMs: number | null): Promise<number | undefined>;
  cuts(group: string, maxSkewMs: number): QueueCuts;
  pending(queue: string, cutMs: number, limit: number): Promise<string[]>;
  dropRedundant(queue: string, coveredThroughMs: number, undecidedFromMs: number, maxCalls?: number): Promise<{ jobs: number; samples: number; calls: number }>;
  recoverActive(queue: string): Promise<number>;
  size(queue: string): Promise<number>;
  isLocked(queue: string, jobId: string): Promise<boolean>;
}

/** The jobs ready to write, as one count an autoscaler reads (see ready-jobs.ts). */
export interface ReadyJobsStore {
  readonly max: number;
  waiting(queues: readonly string[]): Promise<Map<string, number>>;
  publish(shares: ReadonlyMap<string, number>, nowMs: number, staleMs: number): Promise<number>;
  size(): Promise<number>;
}

/** When each replica last wrote, on the store's clock (see liveness.ts). */
export interface LivenessStore {
  /** `replica` of `group` wrote now; a group's entries older than ttlMs are dropped, and the group's record expires ttlMs after its last write. */
  record(group: string, replica: string, ttlMs: number): Promise<void>;
  /** For each of `groups` that has any: replica → ms since its last write. */
  ages(groups: readonly string[]): Promise<Map<string, Map<string, number>>>;
}

/** One holder at a time per queue, for at most ttlMs (a worker replaying an idle queue). */
export interface QueueLease {
  /** A token when taken; undefined when someone else holds it. */
  acquire(queue: string, ttlMs: number): Promise<string | undefined>;
  /** Releases it if the token still holds it. */
  release(queue: string, token: string): Promise<void>;
}

/** Jobs of a queue per state. */
export interface QueueDepth {
  readonly wait: number;
  readonly active: number;
  readonly delayed: number;
  readonly prioritized: number;
  readonly failed: number;
}

/** What the consumer's BullMQ worker is tuned with. */
export interface WorkerTuning {
  readonly concurrency: number;
  readonly lockDurationMs: number;
  readonly maxStalledCount: number;
}

/** How BullMQ's classes are built on this store. */
export interface BullBinding {
  /** A Queue handle on a write queue; its errors go to the log. The caller closes it. */
  queue(name: string): Queue;
  /** A Worker consuming a write queue, on a connection of its own that closes with it. */
  worker(name: string, processor: (job: Job, token?: string, signal?: AbortSignal) => Promise<void>, tuning: WorkerTuning): Worker;
}

export interface QueueBackend {
  readonly kind: 'redis' | 'postgres';
  readonly bull: BullBinding;
  readonly registry: QueueRegistryStore;
  readonly backlog: BacklogStore;
  readonly index: TimeIndexStore;
  readonly lease: QueueLease;
  readonly liveness: LivenessStore;
  /** The ready-jobs set, with each queue's share capped at max. */
  readyJobs(max: number): ReadyJobsStore;
  depth(queue: string): Promise<QueueDepth>;
  /** Whether the store answers; rejects when it cannot be asked. */
  ping(): Promise<boolean>;
  /** Start-up checks: what is wrong with the store's settings is logged, never thrown. */
  check(): Promise<void>;
  /** Connects (rejects when the store is not reachable; the client keeps trying). */
  connect(): Promise<void>;
  close(): Promise<void>;
}

/** Nothing waiting or in flight. */
export function isEmpty(d: QueueDepth): boolean {
  return d.wait + d.active + d.delayed + d.prioritized === 0;
}
