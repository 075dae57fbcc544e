import { quoteIdent } from '../ident.js';
import type { Migration } from './types.js';

/**
 * HA groups (see docs/architecture.md, HA): a stable id per group (its advisory lock key), the leadership record,
 * the group's watermark, per-series marks computed at each handoff, and the ownership log.
 */
export const v002Ha: Migration = {
  version: 2,
  name: 'HA groups: leadership, watermarks, handoff marks, ownership log',
  up(schema) {
    const s = quoteIdent(schema);
    return [
      `ALTER TABLE ${s}.series ADD COLUMN ha_group text`,
      `CREATE INDEX series_ha_group_idx ON ${s}.series (ha_group) WHERE ha_group IS NOT NULL`,
      `CREATE TABLE ${s}.ha_groups (
        name text PRIMARY KEY,
        id integer GENERATED ALWAYS AS IDENTITY UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      // One row per group. The advisory lock says who leads now; this row says who the lock
      // holder is (pid), since when, and from which sample time its data counts (handoff_ms).
      `CREATE TABLE ${s}.ha_leaders (
        group_name text PRIMARY KEY REFERENCES ${s}.ha_groups (name),
        group_id integer NOT NULL,
        leader text,
        epoch bigint NOT NULL DEFAULT 0,
        pid integer,
        via text NOT NULL DEFAULT 'lock' CHECK (via IN ('lock', 'rest')),
        since timestamptz,
        handoff_ms bigint
      )`,
      `CREATE TABLE ${s}.ha_watermarks (
        group_name text PRIMARY KEY,
        max_ms bigint NOT NULL
      )`,
      `CREATE TABLE ${s}.ha_series_marks (
        group_name text NOT NULL,
        epoch bigint NOT NULL,
        series_id bigint NOT NULL,
        last_ms bigint NOT NULL,
        PRIMARY KEY (group_name, epoch, series_id)
      )`,
      `CREATE TABLE ${s}.ha_ownership (
        group_name text NOT NULL,
        epoch bigint NOT NULL,
        replica text NOT NULL,
        from_ms bigint,
        to_ms bigint,
        since timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_name, epoch)
      )`,
    ];
  },
};
