import type { Leadership, WriteHooks } from '../storage/index.js';
import type { LeaderView } from './leaders.js';

/** The batch's replica does not lead its group at commit time: the batch returns to its queue, untouched. */
export class FencedError extends Error {
  override name = 'FencedError';
}

export interface HaWrite {
  readonly hooks: WriteHooks;
  /** Samples the handoff filter left out so far (the old leader owned their time). */
  filtered(): number;
}

/**
 * The hooks that make a batch of (group, replica) an HA write (see docs/architecture.md, HA):
 * - keep: samples after the handoff time, or, per series, after that series' last sample
 *   committed by the previous leader (the fill-in that makes a handoff gap-free);
 * - beforeWrite: the fence, inside the transaction: the replica leads and its lock is held now,
 *   in the same epoch the filter was computed for;
 * - afterWrite: the group's watermark moves to the newest sample written.
 */
export async function haWrite(
  view: LeaderView, leadership: Leadership, group: string, replica: string,
  pause?: (batch: { group: string; replica: string }) => Promise<void>,
): Promise<HaWrite> {
  const rec = view.leaderOf(group);
  if (!rec || rec.leader !== replica) throw new FencedError(`replica ${replica} does not lead group ${group}`);
  const handoff = rec.handoffMs;
  const marks = handoff === null ? undefined : await view.marks(group, rec.epoch);
  let filtered = 0;
  const hooks: WriteHooks = {
    keep: handoff === null || marks === undefined ? undefined : (seriesId, t) => {
      if (t > handoff) return true;
      const mark = marks.get(seriesId);
      if (mark === undefined || t > mark) return true;
      filtered++;
      return false;
    },
    async beforeWrite(client) {
      // Test seam: hold the batch between dequeue and fence (leadership may move meanwhile).
      if (pause) await pause({ group, replica });
      const f = await leadership.fence(client, group, replica);
      if (!f) throw new FencedError(`replica ${replica} lost the leadership of group ${group}`);
      if (f.epoch !== rec.epoch) throw new FencedError(`leadership of group ${group} moved to epoch ${f.epoch} (batch prepared for ${rec.epoch})`);
    },
    async afterWrite(client, summary) {
      if (summary.samples > 0) await leadership.advanceWatermark(client, group, summary.maxTimeMs);
    },
  };
  return { hooks, filtered: () => filtered };
}
