/** Options a migration may depend on; fixed by the first `migrate` of a schema. */
export interface MigrationOptions {
  /** Create `samples` as a TimescaleDB hypertable (the extension is installed by then). */
  readonly timescaledb: boolean;
  /** Partition (or chunk) width in milliseconds, a positive whole number of minutes. */
  readonly partitionIntervalMs: number;
}

/**
 * One schema version. `up` returns the statements to run, in order, inside the migration
 * transaction. The schema name is validated before `up` is called; statements interpolate
 * it quoted and carry no user data.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(schema: string, opts: MigrationOptions): string[];
}
