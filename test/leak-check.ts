/**
 * Fails an integration test file that leaves sockets, servers, child processes or timers behind.
 *
 * Each test's new handles (sockets, servers, child processes, pipes, watchers) are noted after
 * it, by identity, with the test's name. Many files legitimately keep something open across
 * tests (a pool made in beforeAll grows its connections lazily during a test; an app started by
 * one test is stopped in afterAll), so the verdict is given once the file's own afterAll hooks
 * have run: anything still open then, that was not open before the file started, fails the file
 * and is reported with the test that opened it. Timers have no identity, so they are counted.
 *
 * What the runtime itself holds is tolerated: the handles and timers open before the file's
 * first hook (the runner's IPC channel, stdio), and the keep-alive sockets of the global fetch
 * dispatcher, which is ended before the verdict. The runtime's passing timers are waited out at
 * the start and at the verdict. A handle on its way out (a socket closing, a
 * child exiting) gets a bounded time to finish, so the verdict does not depend on timing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import net from 'node:net';
import { ChildProcess } from 'node:child_process';

/** How long a closing handle may take to go; a leak stays open forever, so this only costs time when one is found. */
const SETTLE_MS = 10_000;
const POLL_MS = 20;
/** How long the file's start is watched for the runtime's own passing timers to go. */
const BASELINE_MS = 500;

interface ProcessHandles {
  /** Node's list of the ref'd handles (sockets, servers, child processes...) keeping the loop alive. */
  _getActiveHandles(): object[];
}

interface Dispatcher {
  destroy(): Promise<void>;
}

const DISPATCHER = Symbol.for('undici.globalDispatcher.1');

function activeHandles(): object[] {
  return (process as unknown as ProcessHandles)._getActiveHandles();
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

function describeHandle(h: object): string {
  if (h instanceof ChildProcess) return `child process ${String(h.pid)} (${h.spawnargs.join(' ')})`;
  if (h instanceof net.Server) {
    const a = h.address();
    return `server listening on ${typeof a === 'string' ? a : a ? `${a.address}:${a.port}` : '?'}`;
  }
  if (h instanceof net.Socket) {
    return h.remotePort !== undefined
      ? `socket ${String(h.localAddress)}:${String(h.localPort)} -> ${String(h.remoteAddress)}:${h.remotePort}`
      : 'socket (pipe or unconnected)';
  }
  return h.constructor.name;
}

/**
 * Ends the global fetch dispatcher's sockets, putting a new one of its kind in its place. Its
 * sockets are kept alive for later requests, and one whose response body was never read stays
 * busy; every test of the file is over, so they are destroyed rather than waited for.
 */
async function endFetchDispatcher(): Promise<void> {
  const g = globalThis as unknown as Record<symbol, Dispatcher | undefined>;
  const dispatcher = g[DISPATCHER];
  if (dispatcher === undefined || typeof dispatcher.destroy !== 'function') return;
  const Kind = dispatcher.constructor as new () => Dispatcher;
  g[DISPATCHER] = new Kind();
  await dispatcher.destroy();
}

/** The fewest timers seen while the runtime's passing ones (reporting, RPC) go; those left are held for the whole run. */
async function timerBaseline(): Promise<number> {
  const deadline = Date.now() + BASELINE_MS;
  let fewest = timers();
  while (fewest > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    fewest = Math.min(fewest, timers());
  }
  return fewest;
}

async function settle(leftOver: () => string[]): Promise<string[]> {
  const deadline = Date.now() + SETTLE_MS;
  let left = leftOver();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    left = leftOver();
  }
  return left;
}

const isIntegration = (expect.getState().testPath ?? '').includes('/test/integration/');

if (isIntegration) {
  let before = new Set<object>();
  let timersBefore = 0;
  let testStart = new Set<object>();
  const openedBy = new Map<object, string>();

  beforeAll(async () => {
    before = new Set(activeHandles());
    timersBefore = await timerBaseline();
  });

  beforeEach(() => {
    testStart = new Set(activeHandles());
  });

  afterEach((ctx) => {
    for (const h of activeHandles()) {
      if (!testStart.has(h) && !openedBy.has(h)) openedBy.set(h, ctx.task.name);
    }
  });

  afterAll(async () => {
    await endFetchDispatcher();
    const left = await settle(() => {
      const handles = activeHandles()
        .filter((h) => !before.has(h))
        .map((h) => `${describeHandle(h)}, ${openedBy.has(h) ? `first seen after test "${openedBy.get(h)}"` : 'opened in a hook'}`);
      const extraTimers = timers() - timersBefore;
      return extraTimers > 0 ? [...handles, `${extraTimers} timer(s)`] : handles;
    });
    expect(left, 'left open after the file finished').toEqual([]);
  });
}
