export { Producer, JOB_OPTIONS, type ProducerOptions, type OutgoingBatch, type EnqueuedBatch } from './producer.js';
export { Consumer, TransientError, PermanentError, type ConsumerOptions, type BatchHandler, type QueuedWork } from './consumer.js';
export { QueueRegistry } from './registry.js';
export { queueName, parseQueueName, DEFAULT_QUEUE, type QueueIdentity } from './names.js';
export { batchFormat, batchId, type BatchJob, type BatchSummary, type QueuedBatch, type WireFormat } from './batch.js';
export { DEFAULT_COALESCE, type CoalesceBounds } from './coalesce.js';
export { sweepFollowerQueue, type RetentionPolicy, type SweepResult } from './retention.js';
export { DeadLetters, type DeadLetter } from './dead-letters.js';
export { Backlog, BacklogGate } from './backlog.js';
