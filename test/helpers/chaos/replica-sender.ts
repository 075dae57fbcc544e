/**
 * One Prometheus of the HA pair that can go down and come back: a run of ReplicaWriter
 * segments. pause() is a crash (the request in flight is cut and never answered; ticks not yet
 * sent are gone), resume() a fresh start that scrapes from the next interval on. Sample times
 * of successive segments never repeat, so (series, time) names a sample across the whole run.
 */
import { ReplicaWriter, type ReplicaWriterOptions, type SentRequest, type SentSample } from '../ha-load.js';

/** A closed or open (to undefined) wall-clock window in ms. */
export interface Window {
  readonly from: number;
  to: number | undefined;
}

export class ReplicaSender {
  private readonly segments: ReplicaWriter[] = [];
  private live: ReplicaWriter | undefined;
  /** Outstanding pause() calls: two faults may take the same replica down at once. */
  private holds = 0;
  /** Windows during which this replica was down (paused). */
  readonly downWindows: Window[] = [];

  constructor(private readonly opts: ReplicaWriterOptions) {}

  get replica(): string {
    return this.opts.replica;
  }

  get index(): number {
    return this.opts.index;
  }

  get sending(): boolean {
    return this.live !== undefined;
  }

  /** Starts sending (the first time, or after the last pause() was resumed). */
  start(): void {
    if (this.live || this.holds > 0) return;
    const w = new ReplicaWriter(this.opts);
    this.segments.push(w);
    this.live = w;
    w.start();
    const down = this.downWindows[this.downWindows.length - 1];
    if (down && down.to === undefined) down.to = Date.now();
  }

  /** Goes down at once (kill: the attempt in flight gets no answer) until resume(). */
  async pause(): Promise<void> {
    this.holds++;
    const w = this.live;
    if (!w) return;
    this.live = undefined;
    this.downWindows.push({ from: Date.now(), to: undefined });
    await w.kill();
  }

  /** Undoes one pause(); sends again once no pause is outstanding. */
  resume(): void {
    this.holds = Math.max(0, this.holds - 1);
    this.start();
  }

  /** Drops every outstanding pause and sends again. */
  heal(): void {
    this.holds = 0;
    this.start();
  }

  /** Stops for good after the attempt in flight (its answer is recorded). */
  async stop(): Promise<void> {
    const w = this.live;
    this.live = undefined;
    await w?.stop();
  }

  requests(): SentRequest[] {
    return this.segments.flatMap((w) => w.requests);
  }

  /** Every sample sent, answered or not. */
  sent(): SentSample[] {
    return this.requests().flatMap((r) => r.samples);
  }

  /** Samples whose request was answered 2xx. */
  accepted(): SentSample[] {
    return this.segments.flatMap((w) => w.accepted());
  }

  /** Wall-clock time of the newest 2xx answer, undefined before the first. */
  lastAcceptedAt(): number | undefined {
    const times = this.segments.map((w) => w.lastAcceptedAt()).filter((t): t is number => t !== undefined);
    return times.length ? Math.max(...times) : undefined;
  }
}

/** Wall-clock windows during which every sender was down at once (from their down windows). */
export function allDownWindows(senders: readonly ReplicaSender[], nowMs: number): Window[] {
  const edges: { t: number; d: number }[] = [];
  for (const s of senders) for (const w of s.downWindows) edges.push({ t: w.from, d: 1 }, { t: w.to ?? nowMs, d: -1 });
  edges.sort((x, y) => x.t - y.t || x.d - y.d);
  const out: Window[] = [];
  let down = 0;
  let since = 0;
  for (const e of edges) {
    down += e.d;
    if (e.d === 1 && down === senders.length) since = e.t;
    if (e.d === -1 && down === senders.length - 1) out.push({ from: since, to: e.t });
  }
  return out;
}
