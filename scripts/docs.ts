/** Regenerates the generated tables in docs/ (configuration, errors, adapter flag mapping). */
import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_DOCS, renderGenerated } from '../src/config/reference.js';

for (const file of new Set(Object.values(GENERATED_DOCS))) {
  const path = new URL(`../../${file}`, import.meta.url);
  writeFileSync(path, renderGenerated(readFileSync(path, 'utf8')));
}
