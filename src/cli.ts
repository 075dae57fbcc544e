import { migrateOptions, type ServiceRole } from './app.js';
import { chooseDatabase, type DatabaseChoice } from './embedded/index.js';
import { runService } from './service.js';
import { FLAGS, parseConfig, helpText, maskUrl, ROLES, splitOperands, type Config } from './config/index.js';
import { isPromfleetError } from './errors.js';
import { createLogger, type Logger } from './observability/log.js';
import { createPool, migrate } from './storage/index.js';
import { DeadLetters, openQueueBackend, queueSchema } from './queue/index.js';
import { queueStore } from './wiring/index.js';
import { formatLoadgenReport, LoadgenArgsError, loadgenHelp, parseLoadgenArgs, runLoadgen } from './loadgen/index.js';

/** Entry point: returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [role, ...rest] = argv;
  if (role === 'loadgen') return runLoadgenCommand(rest);
  if (role === undefined || role === '--help' || role === '-h' || role === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${helpText()}\n`);
    return role === undefined ? 2 : 0;
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    process.stderr.write(`promfleet: unknown command "${role}"; expected one of ${ROLES.join(', ')}\n`);
    return 2;
  }
  // dead-letters takes an action and batch ids before its flags; an id may start with "-".
  const { operands: positional, flags } = role === 'dead-letters' ? splitOperands(FLAGS, rest) : { operands: [], flags: rest };
  let config: Config;
  try {
    config = parseConfig(flags);
  } catch (err) {
    if (isPromfleetError(err)) {
      process.stderr.write(`promfleet: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (role === 'dead-letters') return runDeadLetters(positional, config);
  if (config.ingress.readOnly && role !== 'ingress') {
    process.stderr.write(`promfleet: --read-only serves reads only and goes with "ingress", not "${role}"\n`);
    return 2;
  }
  let database: DatabaseChoice;
  try {
    database = chooseDatabase(role, config.storage);
  } catch (err) {
    if (!isPromfleetError(err)) throw err;
    process.stderr.write(`promfleet: ${err.message}\n`);
    return 2;
  }
  const log = createLogger(config.log.level).child({ role });
  const pg = database.kind === 'embedded' ? `embedded (${database.dir})` : maskUrl(config.storage.connectionString);
  const queue = config.queue.backend === 'redis' ? maskUrl(config.queue.redisUrl) : `postgres (schema ${queueSchema(config.queue.queuePrefix)})`;
  log.info({ pg, queue, schema: config.storage.schema, prefix: config.queue.queuePrefix }, 'starting');
  if (role === 'migrate') return runMigrate(config, log);

  return runService(role as ServiceRole, config, log, database);
}

/** `promfleet loadgen`: a bounded load run; exit 0 when it ran (whatever the statuses), 2 on bad flags. */
async function runLoadgenCommand(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${loadgenHelp()}\n`);
    return 0;
  }
  let opts;
  try {
    opts = parseLoadgenArgs(args);
  } catch (err) {
    if (err instanceof LoadgenArgsError) {
      process.stderr.write(`promfleet loadgen: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const report = await runLoadgen({ ...opts, signal: abort.signal });
    process.stdout.write(`${opts.json ? JSON.stringify(report) : formatLoadgenReport(report)}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runMigrate(config: Config, log: Logger): Promise<number> {
  const pool = createPool({ connectionString: config.storage.connectionString, max: 1, applicationName: 'promfleet migrate' }, log);
  try {
    const result = await migrate(pool, migrateOptions(config.storage, log));
    log.info({ applied: result.applied, timescaledb: result.timescaledb }, 'migrations applied');
    return 0;
  } finally {
    await pool.end();
  }
}

async function runDeadLetters(args: string[], config: Config): Promise<number> {
  const [action, ...ids] = args;
  if (action !== 'list' && action !== 'retry' && action !== 'drop') {
    process.stderr.write('promfleet: usage: promfleet dead-letters list|retry|drop [batch ids] [flags]\n');
    return 2;
  }
  if (action === 'drop' && ids.length === 0 && !process.env.PROMFLEET_DROP_ALL) {
    process.stderr.write('promfleet: dead-letters drop needs batch ids (or PROMFLEET_DROP_ALL=1 to drop every dead letter)\n');
    return 2;
  }
  if (config.queue.backend === 'postgres' && !config.storage.serverConfigured) {
    process.stderr.write('promfleet: dead-letters: the queue is on PostgreSQL; name its server with --pg.url (for the embedded one, while `promfleet all` runs: postgres://postgres:<the password in <--storage.embedded-dir>/password>@127.0.0.1:<the port it logs at start>/postgres)\n');
    return 2;
  }
  // Its output is the dead letters on stdout: the queue's own (debug) log goes to stderr.
  const log = createLogger(config.log.level, process.stderr).child({ role: 'dead-letters' });
  const backend = openQueueBackend(queueStore(config), 'producer', log);
  try {
    await backend.connect();
    const dl = new DeadLetters(backend);
    if (action === 'list') {
      for (const d of await dl.list()) process.stdout.write(`${JSON.stringify(d)}\n`);
    } else {
      const n = action === 'retry' ? await dl.retry(ids) : await dl.drop(ids);
      process.stdout.write(`${action === 'retry' ? 'retried' : 'dropped'} ${n}\n`);
    }
    return 0;
  } finally {
    await backend.close();
  }
}
