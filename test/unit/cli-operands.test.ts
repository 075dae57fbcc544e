import { describe, it, expect } from 'vitest';
import { FLAGS, splitOperands } from '../../src/config/index.js';

describe('dead-letters operands', () => {
  it('keeps batch ids that start with "-" or "--" as ids, and stops at the first flag', () => {
    const ids = ['-yeaPhqKwfZe6y7n8nayTg', '--eaPhqKwfZe6y7n8nayTg', 'AbCdEfGhIjKlMnOpQrStUv'];
    const flags = ['--queue.backend=redis', '--pg.url', 'postgres://x'];
    expect(splitOperands(FLAGS, ['retry', ...ids, ...flags])).toEqual({ operands: ['retry', ...ids], flags });
  });

  it('ends the operands at "--" and at a flag given with one dash', () => {
    expect(splitOperands(FLAGS, ['drop', '--', '--pg.url'])).toEqual({ operands: ['drop', '--pg.url'], flags: [] });
    expect(splitOperands(FLAGS, ['list', '-pg.url=postgres://x'])).toEqual({ operands: ['list'], flags: ['-pg.url=postgres://x'] });
  });
});
