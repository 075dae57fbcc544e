import type { Leadership, WriteBatch, WriteHooks } from '../storage/index.js';
import type { GroupView } from './leaders.js';

/** The batch's replica may not write what it holds at commit time: the batch returns to its queue, untouched. */
export class FencedError extends Error {
  override name = 'FencedError';
}

/** A batch with the data times of its job (the bounds of every batch the job holds). */
export interface SpannedBatch {
  readonly batch: WriteBatch;
  readonly t0: number;
  readonly t1: number;
}

export interface HaPlan {
  /** The batches as written: one per ownership epoch each may own samples in, ledger id `<batch>@<epoch>`. */
  readonly batches: readonly WriteBatch[];
  /** For each written batch, the index of the batch it came from. */
  readonly origin: readonly number[];
  readonly hooks: WriteHooks;
  /** The replica's samples after this time may not be written yet: their owner is not decided. */
  readonly undecidedFromMs: number;
  /** Per batch: some of its samples' owner is not decided yet (the job stays queued for them). */
  readonly retained: readonly boolean[];
  /** Samples the ownership filter left out so far (another replica owns their time). */
  filtered(): number;
}

export interface HaPlanOptions {
  readonly leadership: Leadership;
  readonly maxSkewMs: number;
  /** Test seam: awaited inside the transaction just before the fence. */
  readonly pause?: (batch: { group: string; replica: string }) => Promise<void>;
}

/**
 * What of a (group, replica)'s batches to write, from the ownership log: each batch is split by
 * the epochs it may own samples in, each part keeping only the samples that epoch owns, so a
 * batch's samples in one interval are written once whenever that interval is decided. The fence
 * checks, inside the transaction, that the ownership version is the one the split was computed
 * from, and, when a part falls in the open interval, that the replica holds the lock now.
 */
export function planHaWrite(view: GroupView, group: string, replica: string, items: readonly SpannedBatch[], opts: HaPlanOptions): HaPlan {
  const own = view.ownership;
  const open = own.open;
  const undecidedFromMs = own.undecidedFrom(replica);
  const batches: WriteBatch[] = [];
  const origin: number[] = [];
  let needsLock = false;
  let filtered = 0;
  items.forEach((it, index) => {
    let epochs = own.epochsFor(replica, it.t0, it.t1);
    // A batch without samples (metadata only) goes with the leader's open interval.
    if (epochs.length === 0 && it.t0 === 0 && it.t1 === 0 && open?.replica === replica && open.ready) epochs = [open.epoch];
    for (const epoch of epochs) {
      if (epoch === open?.epoch) needsLock = true;
      batches.push({
        ...it.batch,
        id: `${it.batch.id}@${epoch}`,
        keep: (seriesId, t) => {
          if (own.owner(replica, seriesId, t) === epoch) return true;
          filtered++;
          return false;
        },
      });
      origin.push(index);
    }
  });
  const version = view.state.version;
  const hooks: WriteHooks = {
    async beforeWrite(client) {
      if (opts.pause) await opts.pause({ group, replica });
      if (!(await opts.leadership.fence(client, group, version, needsLock ? replica : undefined))) {
        throw new FencedError(`ownership of group ${group} changed (batches of ${replica} prepared for version ${version})`);
      }
    },
    async afterWrite(client, summary) {
      if (summary.samples > 0) await opts.leadership.advanceWatermark(client, group, summary.maxTimeMs, opts.maxSkewMs);
    },
  };
  const retained = items.map((it) => !(it.t0 === 0 && it.t1 === 0) && !own.decided(replica, it.t0, it.t1));
  return { batches, origin, hooks, undecidedFromMs, retained, filtered: () => filtered };
}
