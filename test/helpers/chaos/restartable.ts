/**
 * A promfleet process that the soak kills (SIGKILL) and starts again on the same port with the
 * same flags, keeping the output of every incarnation (for the saved log of a failed run).
 */
import { startPromfleet, type PromfleetProcess } from '../promfleet.js';
import { freePort } from '../ports.js';

export class RestartableProcess {
  private current: PromfleetProcess | undefined;
  private readonly past: string[] = [];
  /** Incarnations started so far (1 after the first start). */
  starts = 0;
  /** kill9() calls so far. */
  kills = 0;
  /** Pids of every incarnation, in order (a restart must bring a new one). */
  readonly pids: number[] = [];
  private port = 0;

  constructor(readonly name: string, readonly role: 'ingress' | 'worker', private readonly args: readonly string[]) {}

  /** The fixed URL (same port after every restart); valid after the first start. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    const p = this.current?.proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Starts an incarnation (healthy when it resolves); a no-op while one runs. */
  async start(): Promise<void> {
    if (this.running) return;
    this.retire();
    if (this.port === 0) this.port = await freePort();
    this.current = await startPromfleet(this.role, [...this.args], { port: this.port });
    this.starts++;
    this.pids.push(this.current.proc.pid ?? -1);
  }

  /** kill -9, and waits for the exit. */
  async kill9(): Promise<void> {
    this.kills++;
    if (this.current) await this.current.stop('SIGKILL', 5_000);
  }

  /** SIGTERM (SIGKILL after the timeout), for the teardown. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.current) await this.current.stop('SIGTERM', timeoutMs);
  }

  /** Everything each incarnation wrote, separated by a header per incarnation. */
  output(): string {
    const now = this.current ? [this.incarnation(this.current, this.past.length + 1)] : [];
    return [...this.past, ...now].join('\n');
  }

  private retire(): void {
    if (this.current) this.past.push(this.incarnation(this.current, this.past.length + 1));
    this.current = undefined;
  }

  private incarnation(p: PromfleetProcess, n: number): string {
    const how = p.proc.exitCode !== null ? `exit ${p.proc.exitCode}` : p.proc.signalCode !== null ? `signal ${p.proc.signalCode}` : 'running';
    return `----- ${this.name} #${n} (pid ${p.proc.pid}, ${how}) -----\n${p.output()}`;
  }
}
