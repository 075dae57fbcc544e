import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { GENERATED_DOCS, renderGenerated } from '../../src/config/reference.js';
import { ERRORS } from '../../src/errors.js';
import { FLAGS } from '../../src/config/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');
const DOCS = ['README.md', 'CONTRIBUTING.md', 'bench/README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('README and docs', () => {
  it.each(Object.entries(GENERATED_DOCS))('%s: current generated section in %s (run `npm run docs` after changing flags or errors)', (name, file) => {
    const text = read(file);
    expect(text).toContain(`<!-- generated:${name} -->`);
    expect(text).toContain(`<!-- /generated:${name} -->`);
    expect(renderGenerated(text)).toBe(text);
  });

  it('lists every error code and every flag', () => {
    const errors = read(GENERATED_DOCS.errors);
    const configuration = read(GENERATED_DOCS.flags);
    for (const code of Object.keys(ERRORS)) expect(errors).toContain(`\`${code}\``);
    for (const flag of Object.keys(FLAGS)) expect(configuration).toContain(`\`--${flag}\``);
  });

  it('gives the test command that .ci/run runs, and the start command package.json has', () => {
    const ci = read('.ci/run');
    expect(readme).toMatch(/^npm test\b/m);
    expect(ci).toMatch(/^\s*npm test\s*$/m);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(readme).toMatch(/^npm ci && npm start\s+# builds and runs `promfleet all`/m);
    expect(pkg.scripts.start).toMatch(/^npm run build && node bin\/promfleet\.js all$/);
  });

  it('links only to files of the repository that exist, with anchors that exist', () => {
    const anchor = (heading: string): string => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    let links = 0;
    for (const file of DOCS) {
      const text = read(file);
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        expect(target, `${file}: ${target}`).not.toMatch(/^(\.\.\/\.\.|\/)/);
        if (/^[a-z]+:/.test(target)) continue;
        links++;
        const [rel, hash] = target.split('#');
        const dest = rel === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), rel);
        expect(dest.startsWith(ROOT + path.sep), `${file}: ${target} leaves the repository`).toBe(true);
        expect(existsSync(dest), `${file}: ${target}`).toBe(true);
        if (hash !== undefined) {
          const headings = [...readFileSync(dest, 'utf8').matchAll(/^#+ (.*)$/gm)].map((m) => anchor(m[1]));
          expect(headings, `${file}: ${target}`).toContain(hash);
        }
      }
    }
    expect(links).toBeGreaterThan(20);
  });
});
