export { createPool, maskConnectionString, type PoolOptions } from './pool.js';
export { migrate, type MigrateOptions, type MigrateResult } from './migrate.js';
export { MIGRATIONS, type Migration, type MigrationOptions } from './migrations/index.js';
export { Partitions, type PartitionsOptions } from './partitions.js';
export { SeriesResolver, type SeriesResolverOptions, type ResolveResult, type Queryable } from './series.js';
export { seriesKey, type SeriesKey } from './labels.js';
export { hashSeriesId } from './series-id.js';
export { copySamples, encodeSamples, type SampleRows } from './copy-samples.js';
export {
  BatchWriter, type BatchWriterOptions, type WriteBatch, type WriteBatchResult, type WriteManyResult, type BatchOutcome, type WriteHooks,
  type BatchWriteSummary,
} from './write-batch.js';
export { classifyPgError, pgErrorClassLabel, toPromfleetError, type PgErrorClass } from './pg-error-class.js';
export {
  Leadership, lockNamespace, NO_DATA_CUT_MS, type CutSource, type GroupOwnershipState, type LeaderRecord, type LeaderVia, type OwnershipRow, type Takeover,
} from './leadership.js';
export { pruneLedger } from './ledger.js';
export { inTransaction } from './transaction.js';
export {
  SampleReader, compareLabelSets, selectSeries, type ReadQuery, type ReadSeries, type Matching, type SampleReaderOptions, type SeriesSelection, type StreamedSeries,
} from './read-samples.js';
export { RawSeriesCache, RawSeriesCaches } from './raw-series-cache.js';
export type { Flattened } from './sample-rows.js';
