/**
 * Queue names. One queue per (HA group, replica) so that election can open and close a
 * replica's queue without touching the others; `{default}` holds batches without a group.
 * Names are wrapped in braces so that each queue's keys hash to one Redis Cluster slot.
 * Group and replica are escaped: only [A-Za-z0-9_-] stays as is, everything else is %XX of
 * its UTF-8 bytes, so "." separates unambiguously and ":" (forbidden by BullMQ) never appears.
 */
export interface QueueIdentity {
  /** HA group; undefined for batches written unconditionally. */
  readonly group: string | undefined;
  /** Replica within the group; undefined when the group has a single writer. */
  readonly replica: string | undefined;
}

export const DEFAULT_QUEUE = '{default}';

function escape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function unescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(s.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function queueName(id: QueueIdentity): string {
  if (id.group === undefined) return DEFAULT_QUEUE;
  return `{w.${escape(id.group)}.${id.replica === undefined ? '' : `r${escape(id.replica)}`}}`;
}

/** Inverse of queueName; undefined for names that are not promfleet write queues. */
export function parseQueueName(name: string): QueueIdentity | undefined {
  if (name === DEFAULT_QUEUE) return { group: undefined, replica: undefined };
  const m = /^\{w\.([A-Za-z0-9_%-]*)\.(r[A-Za-z0-9_%-]*)?\}$/.exec(name);
  if (!m) return undefined;
  return { group: unescape(m[1]), replica: m[2] === undefined ? undefined : unescape(m[2].slice(1)) };
}
