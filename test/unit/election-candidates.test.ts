import { describe, expect, it } from 'vitest';
import { pickCandidate, type ReplicaState } from '../../src/election/candidates.js';

const NOW = 100_000;
const TIMEOUT = 2_000;

function replicas(entries: Record<string, Partial<ReplicaState>>): Map<string, ReplicaState> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, { lastSeenMs: -Infinity, localSeenMs: -Infinity, paused: false, ...v }]));
}

describe('pickCandidate', () => {
  it('takes the newest writer among those in the election', () => {
    expect(pickCandidate(replicas({ a: { lastSeenMs: NOW - 500, localSeenMs: NOW - 500 }, b: { lastSeenMs: NOW - 100, localSeenMs: NOW - 100 } }), NOW, TIMEOUT)).toBe('b');
    expect(pickCandidate(replicas({ a: { lastSeenMs: NOW - 500, localSeenMs: NOW - 500 }, b: { lastSeenMs: NOW - 100, paused: true } }), NOW, TIMEOUT)).toBe('a');
    expect(pickCandidate(replicas({ a: { lastSeenMs: NOW, paused: true } }), NOW, TIMEOUT)).toBeUndefined();
  });

  it('prefers a replica writing through this process over a newer one known only from the shared store', () => {
    const r = replicas({ a: { lastSeenMs: NOW - 50 }, b: { lastSeenMs: NOW - 400, localSeenMs: NOW - 400 } });
    expect(pickCandidate(r, NOW, TIMEOUT)).toBe('b');
  });

  it('falls back to the shared store when no replica writes through this process', () => {
    const r = replicas({ a: { lastSeenMs: NOW - 50 }, b: { lastSeenMs: NOW - 400, localSeenMs: NOW - TIMEOUT - 1 } });
    expect(pickCandidate(r, NOW, TIMEOUT)).toBe('a');
  });
});
