/**
 * The published package: `npm pack` of this checkout, `npm install` of that tarball in an empty
 * folder, then the installed `promfleet` (node_modules/.bin, through its shebang) answers
 * `--help` and migrates a database of its own on the test server.
 *
 * The pack runs with --ignore-scripts: `npm test` built dist/ before vitest started, and the
 * prepack build would compile it a second time while other files run bin/promfleet.js from it.
 * That prepack builds is asserted on its own below, so a plain `npm pack` stays complete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { MIGRATIONS } from '../../src/storage/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { tail } from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PACK_MS = 60_000;
const INSTALL_MS = 100_000;
const RUN_MS = 30_000;

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

/** Runs a command to its end or its time limit (then SIGKILL); never rejects on a non-zero exit. */
function run(file: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Run> {
  // The npm_* variables an outer `npm test` exports describe this checkout, not the empty folder.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

function describeRun(what: string, r: Run): string {
  return `${what} exited ${String(r.code)}\nstdout:\n${tail(r.stdout)}\nstderr:\n${tail(r.stderr)}`;
}

interface PackedFile { readonly path: string }
interface PackResult { readonly filename: string; readonly files: readonly PackedFile[] }

describe('the npm package', () => {
  let tmp: string;
  let app: string;
  let packed: PackResult;
  let bin: string;
  let db: TestDatabase | undefined;

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist/src/cli.js'))) throw new Error('dist/src/cli.js is missing: run `npm run build` first');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'promfleet-pack-'));
    app = path.join(tmp, 'app');
    await mkdir(app);
    await writeFile(path.join(app, 'package.json'), `${JSON.stringify({ name: 'promfleet-install-check', private: true })}\n`);
    bin = path.join(app, 'node_modules/.bin/promfleet');
  });

  afterAll(async () => {
    await db?.drop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('builds before packing: prepack runs the build', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepack).toBe('npm run build');
  });

  it('packs only the runtime: bin, compiled src, the Redis example, README and package.json', async () => {
    const r = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT, PACK_MS);
    expect(r.code, describeRun('npm pack', r)).toBe(0);
    const results = JSON.parse(r.stdout) as PackResult[];
    expect(results).toHaveLength(1);
    packed = results[0];
    const paths = packed.files.map((f) => f.path).sort();
    expect(paths).toContain('bin/promfleet.js');
    expect(paths).toContain('dist/src/cli.js');
    expect(paths).toContain('dist/src/storage/migrations/index.js');
    expect(paths).toContain('README.md');
    const unexpected = paths.filter((p) => !(
      p === 'package.json' || p === 'README.md' || p === 'bin/promfleet.js' || p === 'infra/redis.conf'
      || (p.startsWith('dist/src/') && p.endsWith('.js'))
    ));
    expect(unexpected).toEqual([]);
    expect(existsSync(path.join(tmp, packed.filename))).toBe(true);
  }, PACK_MS + 10_000);

  it('installs from the tarball into an empty folder, with promfleet in node_modules/.bin', async () => {
    expect(packed, 'the pack step did not run').toBeDefined();
    const r = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, packed.filename)], app, INSTALL_MS);
    expect(r.code, describeRun('npm install', r)).toBe(0);
    expect(existsSync(bin)).toBe(true);
    // The command is the installed copy, not this checkout.
    expect(realpathSync(bin)).toBe(realpathSync(path.join(app, 'node_modules/promfleet/bin/promfleet.js')));
  }, INSTALL_MS + 10_000);

  it('the installed promfleet --help exits 0 and prints the usage', async () => {
    expect(existsSync(bin), 'the install step did not run').toBe(true);
    // Run as a file: its shebang, not `node`, starts it.
    const r = await run(bin, ['--help'], app, RUN_MS);
    expect(r.code, describeRun('promfleet --help', r)).toBe(0);
    expect(r.stdout).toMatch(/^Usage: promfleet </);
    expect(r.stdout).toContain('migrate');
  }, RUN_MS + 5_000);

  it('the installed promfleet migrate creates the schema in a fresh database', async () => {
    expect(existsSync(bin), 'the install step did not run').toBe(true);
    db = await createTestDatabase('npm_package');
    const r = await run(bin, ['migrate', `--pg.url=${db.url}`, '--pg.schema=prom', '--log.level=warn'], app, RUN_MS);
    expect(r.code, describeRun('promfleet migrate', r)).toBe(0);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const tables = await c.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'prom' ORDER BY table_name`);
      const names = tables.rows.map((t) => t.table_name);
      for (const t of ['schema_migrations', 'samples', 'series', 'metadata', 'batches', 'ha_leaders']) expect(names).toContain(t);
      const versions = await c.query<{ version: number }>('SELECT version FROM prom.schema_migrations ORDER BY version');
      expect(versions.rows.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await c.end();
    }
  }, RUN_MS + 15_000);
});
