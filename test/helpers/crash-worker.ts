/**
 * A promfleet worker in an OS process of its own that kills itself with SIGKILL at a chosen
 * point of its Nth write transaction:
 *  - `before-copy`: inside the transaction, just before the samples' COPY is sent;
 *  - `after-copy`: after COPY, before COMMIT (the afterCopy seam);
 *  - `after-commit`: after COMMIT, before the queue hears the batch is done (the afterCommit seam).
 * Tests are not compiled, so the child runs the built app (dist/, built by `npm test` before
 * vitest) from a small ES module evaluated by `node --input-type=module` in the repository root
 * (bare imports resolve from its node_modules).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type CrashPoint = 'before-copy' | 'after-copy' | 'after-commit';
export const CRASH_POINTS: readonly CrashPoint[] = ['before-copy', 'after-copy', 'after-commit'];

const SCRIPT = `
import pg from 'pg';
import { pino } from 'pino';
import { createApp } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/src/app.js')).href)};
import { parseConfig } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/src/config/index.js')).href)};

const point = process.env.CRASH_POINT;
const nth = Number(process.env.CRASH_NTH);
const args = JSON.parse(process.env.CRASH_ARGS ?? '[]');
let seen = 0;
function maybeCrash(where) {
  if (where !== point) return;
  seen += 1;
  if (seen !== nth) return;
  process.stderr.write('CRASH ' + where + ' ' + seen + '\\n');
  process.kill(process.pid, 'SIGKILL');
  // The signal is delivered on the way back from kill(2); never go on past this point.
  const until = Date.now() + 10000;
  while (Date.now() < until) { /* wait for the kernel */ }
}

// Before COPY: the samples' COPY is the one query of the transaction with pg-copy-streams' shape.
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...a) {
  const q = a[0];
  if (q !== null && typeof q === 'object' && typeof q.text === 'string' && q.text.startsWith('COPY ')) maybeCrash('before-copy');
  return query.apply(this, a);
};

const app = createApp('worker', parseConfig(args, {}), pino({ level: process.env.CRASH_LOG ?? 'silent' }), {
  afterCopy: async () => maybeCrash('after-copy'),
  afterCommit: async () => maybeCrash('after-commit'),
});
await app.start();
process.stderr.write('STARTED\\n');
process.once('SIGTERM', () => { void app.stop().then(() => process.exit(0)); });
`;

export interface CrashWorker {
  readonly proc: ChildProcess;
  /** Resolves when the process exits, with its code and the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** SIGKILL if still running (cleanup). */
  kill(): Promise<void>;
}

export function startCrashWorker(opts: { point: CrashPoint; nth: number; args: readonly string[]; env?: NodeJS.ProcessEnv }): CrashWorker {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env, CRASH_POINT: opts.point, CRASH_NTH: String(opts.nth), CRASH_ARGS: JSON.stringify(opts.args) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  // 'close', not 'exit': it comes once the pipes are drained too, so the last words are in `out`.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    proc,
    exited,
    output: () => out,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
