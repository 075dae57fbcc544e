export { Producer, JOB_OPTIONS, type ProducerOptions, type OutgoingBatch, type EnqueuedBatch } from './producer.js';
export { Consumer, TransientError, PermanentError, queuedWork, type ConsumerOptions, type BatchHandler, type HandleResult, type QueuedWork } from './consumer.js';
export { QueueRegistry } from './registry.js';
export { queueName, parseQueueName, DEFAULT_QUEUE, type QueueIdentity } from './names.js';
export { batchFormat, batchId, isQueuedJob, type BatchJob, type BatchSummary, type QueuedBatch, type WireFormat } from './batch.js';
export { DEFAULT_COALESCE, type CoalesceBounds } from './coalesce.js';
export { QueueTimeIndex, SWEEP_PAGE, type QueueCuts } from './time-index.js';
export { DeadLetters, type DeadLetter } from './dead-letters.js';
export { Backlog, BacklogGate, RedisBacklogCounters } from './backlog.js';
export { RedisQueueBackend } from './redis-backend.js';
export { PostgresQueueBackend } from './pg/backend.js';
export { queueSchema } from './pg/schema.js';
export { openQueueBackend, type QueueStoreOptions } from './open-backend.js';
export type {
  BacklogStore, BullBinding, LivenessStore, QueueBackend, QueueDepth, QueueLease, QueueRegistryStore, ReadyJobsStore, TimeIndexStore, WorkerTuning,
} from './backend.js';
export { producerConnection, workerConnection } from './redis.js';
export { SharedLiveness, RedisLivenessStore, livenessKey, type LivenessReader, type SharedLivenessOptions } from './liveness.js';
export { ReadyJobs, readyJobsKey, readyShare } from './ready-jobs.js';
