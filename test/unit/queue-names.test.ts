import { describe, it, expect } from 'vitest';
import { queueName, parseQueueName, DEFAULT_QUEUE, batchId } from '../../src/queue/index.js';

describe('queue names', () => {
  it('uses the default queue for batches without a group', () => {
    expect(queueName({ group: undefined, replica: undefined })).toBe(DEFAULT_QUEUE);
    expect(parseQueueName(DEFAULT_QUEUE)).toEqual({ group: undefined, replica: undefined });
  });

  it('round-trips any group and replica, with no ":" and one hash tag', () => {
    const cases = [['demo', 'replica-a'], ['a.b:c', 'x/y'], ['ünïcode', 'r 1'], ['g', undefined], ['', ''], ['%41', '{}']] as const;
    for (const [group, replica] of cases) {
      const name = queueName({ group, replica });
      expect(name).not.toContain(':');
      expect(name.match(/[{}]/g)).toEqual(['{', '}']);
      expect(parseQueueName(name)).toEqual({ group, replica });
    }
  });

  it('keeps distinct identities distinct', () => {
    const names = new Set([
      queueName({ group: 'a', replica: 'b.c' }), queueName({ group: 'a.b', replica: 'c' }),
      queueName({ group: 'a', replica: undefined }), queueName({ group: 'a', replica: '' }),
    ]);
    expect(names.size).toBe(4);
  });

  it('derives the same batch id from the same queue and bytes, and different ids otherwise', () => {
    const body = Buffer.from('payload');
    expect(batchId('{default}', body)).toBe(batchId('{default}', Buffer.from('payload')));
    expect(batchId('{default}', body)).not.toBe(batchId('{w.g.ra}', body));
    expect(batchId('{default}', body)).not.toBe(batchId('{default}', Buffer.from('payloaD')));
    expect(batchId('{default}', body)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
