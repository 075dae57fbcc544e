/**
 * basic_auth_users of --web.config.file: user → bcrypt hash, checked with bcryptjs. bcrypt is
 * slow on purpose (about 70 ms at cost 10 here), and Prometheus sends the same credential with
 * every request of every shard, so outcomes are cached as the exporter toolkit does: keyed by
 * user, hash and password together (as a SHA-256 digest, so the cache holds no password), with a
 * bounded number of entries. bcrypt thus runs once per distinct (user, hash, password); a new
 * hash after a reload is a new key. Concurrent first requests share one bcrypt run. An unknown
 * user is checked against a hash of its own, so its answer takes as long as a wrong password's.
 */
import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { AuthError, readAuthorization, type Principal } from './check.js';

/** Verified outcomes kept (least recently used first out). */
export const DEFAULT_BCRYPT_CACHE_ENTRIES = 256;

export interface BcryptUsersOptions {
  /** The users in force (read on every request, so a reload applies at once). */
  readonly users: () => ReadonlyMap<string, string>;
  readonly maxEntries?: number;
}

function cacheKey(user: string, hash: string, password: string): string {
  const h = createHash('sha256');
  for (const part of [user, hash, password]) h.update(`${Buffer.byteLength(part)}:`).update(part, 'utf8');
  return h.digest('hex');
}

export class BcryptUsers {
  private readonly cache = new Map<string, Promise<boolean>>();
  private readonly maxEntries: number;
  private unknownUserHash: Promise<string> | undefined;
  private runs = 0;

  constructor(private readonly opts: BcryptUsersOptions) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_BCRYPT_CACHE_ENTRIES;
  }

  /** Whether any user is configured (none: this source accepts nobody and guards nothing). */
  get active(): boolean {
    return this.opts.users().size > 0;
  }

  /** bcrypt comparisons run so far (cache misses). */
  get bcryptRuns(): number {
    return this.runs;
  }

  /** Entries in the cache now. */
  get cached(): number {
    return this.cache.size;
  }

  /**
   * The principal of a basic-auth header naming a configured user with the right password.
   * @throws AuthError missing, malformed or unknown.
   */
  async authenticate(header: string | undefined): Promise<Principal> {
    const p = readAuthorization(header);
    if (p.kind !== 'basic' || !(await this.verify(p.user, p.password))) throw new AuthError('unknown');
    return { name: `basic_auth_users/${p.user}`, groups: undefined };
  }

  /** Whether `password` is `user`'s. */
  async verify(user: string, password: string): Promise<boolean> {
    const known = this.opts.users().get(user);
    const hash = known ?? (await this.dummyHash());
    const key = cacheKey(user, hash, password);
    let outcome = this.cache.get(key);
    if (outcome) {
      // Most recently used goes last, so eviction takes the oldest first.
      this.cache.delete(key);
    } else {
      this.runs++;
      outcome = bcrypt.compare(password, hash).then((ok) => ok && known !== undefined);
      // A failure of bcrypt itself is not an outcome: it is not kept.
      outcome.catch(() => this.cache.delete(key));
    }
    this.cache.set(key, outcome);
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done === true) break;
      this.cache.delete(oldest.value);
    }
    return outcome;
  }

  private dummyHash(): Promise<string> {
    this.unknownUserHash ??= bcrypt.hash(randomBytes(16).toString('hex'), 10);
    return this.unknownUserHash;
  }
}
