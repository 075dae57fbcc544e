import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { renderGenerated } from '../../src/config/reference.js';
import { ERRORS } from '../../src/errors.js';
import { FLAGS } from '../../src/config/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('has current generated sections (run `npm run docs` after changing flags or errors)', () => {
    expect(renderGenerated(readme)).toBe(readme);
  });

  it('lists every error code and every flag', () => {
    for (const code of Object.keys(ERRORS)) expect(readme).toContain(`\`${code}\``);
    for (const flag of Object.keys(FLAGS)) expect(readme).toContain(`\`--${flag}\``);
  });

  it('gives the test command that .ci/run runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(readme).toMatch(/^npm test\b/m);
    expect(ci).toMatch(/^\s*npm test\s*$/m);
  });
});
