/**
 * The credentials of --web.auth-file, kept current without a restart: the file is re-read when
 * its modification time or size changes (polled, because editors and Kubernetes secret mounts
 * replace the file rather than write it, which fs.watch loses track of) and on reload() (SIGHUP).
 * A file that no longer parses keeps the previous credentials in force and is logged.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { PromfleetError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import { parseAuthFile, type Credential } from './file.js';

export interface CredentialStoreOptions {
  readonly path: string;
  readonly log: Logger;
  /** How often the file's stat is polled, in ms. Default 1000. */
  readonly pollMs?: number;
  readonly now?: () => number;
}

export class CredentialStore {
  private current: readonly Credential[] = [];
  private watching = false;

  constructor(private readonly opts: CredentialStoreOptions) {
    // Loaded at construction: a bad file stops the process before it listens.
    try {
      this.current = this.read();
    } catch (err) {
      throw new PromfleetError('CONFIG_INVALID', `--web.auth-file ${(err as Error).message}`);
    }
    this.report('loaded');
  }

  get credentials(): readonly Credential[] {
    return this.current;
  }

  start(): void {
    if (this.watching) return;
    this.watching = true;
    watchFile(this.opts.path, { interval: this.opts.pollMs ?? 1000, persistent: false }, this.onChange);
  }

  stop(): void {
    if (!this.watching) return;
    this.watching = false;
    unwatchFile(this.opts.path, this.onChange);
  }

  /** Re-reads the file now; on error the credentials in force stay. Returns whether it loaded. */
  reload(): boolean {
    try {
      this.current = this.read();
      this.report('reloaded');
      return true;
    } catch (err) {
      this.opts.log.error({ file: this.opts.path, err }, 'auth file not reloaded; the previous credentials stay in force');
      return false;
    }
  }

  private readonly onChange = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    if (curr.nlink === 0 && curr.mtimeMs === 0) {
      this.opts.log.error({ file: this.opts.path }, 'auth file disappeared; the previous credentials stay in force');
      return;
    }
    this.reload();
  };

  private read(): Credential[] {
    let text: string;
    try {
      text = readFileSync(this.opts.path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${this.opts.path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    try {
      return parseAuthFile(text);
    } catch (err) {
      throw new Error(`${this.opts.path}: ${(err as Error).message}`);
    }
  }

  private report(what: 'loaded' | 'reloaded'): void {
    const now = (this.opts.now ?? Date.now)();
    const names = this.current.map((c) => c.name);
    const expired = this.current.filter((c) => c.notAfterMs !== undefined && c.notAfterMs < now).map((c) => c.name);
    this.opts.log.info({ file: this.opts.path, credentials: names }, `auth file ${what}`);
    if (expired.length) this.opts.log.warn({ expired }, 'some credentials in the auth file have expired');
  }
}
