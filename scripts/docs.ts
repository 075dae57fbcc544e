/** Regenerates the README's generated sections (configuration, errors, adapter flag mapping). */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderGenerated } from '../src/config/reference.js';

const path = new URL('../../README.md', import.meta.url);
writeFileSync(path, renderGenerated(readFileSync(path, 'utf8')));
