#!/usr/bin/env node
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    // Leftover client timers must not keep a stopped process alive.
    process.exit(typeof code === 'number' ? code : 0);
  },
  (err) => {
    process.stderr.write(`promfleet: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
