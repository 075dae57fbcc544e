import { quoteIdent } from '../ident.js';
import type { Migration } from './types.js';

/**
 * Ownership by data time. Every change to a group's ownership (an interval closed, one opened,
 * one made ready) bumps `ha_leaders.version`, and every HA write fences against the version it
 * computed its filter with. An interval is ready once its predecessor's queue holds nothing at
 * or before the cut and the per-series fill-in marks are recorded; until then its owner's
 * batches wait. Marks stay with their epoch: late batches of the previous owner are cut at them.
 */
export const v004HaOwnership: Migration = {
  version: 4,
  name: 'HA ownership by data time: ownership version, ready intervals, marks kept per epoch',
  up(schema) {
    const s = quoteIdent(schema);
    return [
      `ALTER TABLE ${s}.ha_leaders ADD COLUMN version bigint NOT NULL DEFAULT 0`,
      // Intervals opened before this migration were ready at once (their marks computed at takeover).
      `ALTER TABLE ${s}.ha_ownership ADD COLUMN ready boolean NOT NULL DEFAULT true`,
    ];
  },
};
