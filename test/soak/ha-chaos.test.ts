/**
 * Seeded chaos soak of an HA pair. Replicas a and b of group g write 20 series every second
 * (a at +0 ms, b at +500 ms, each spreading its series over 800 ms) through ingress a and b;
 * two workers write the leader's batches. For PROMFLEET_CHAOS_SECONDS (default 300) faults hit
 * the database, Redis, the processes, the network between ingress and database, and the
 * replicas themselves (see helpers/chaos/faults.ts), drawn from PROMFLEET_CHAOS_SEED (default:
 * a random seed, printed). Then everything is healed, the writers go on for 10 s and stop, and
 * once the stored data has settled, every series is checked against what the writers had
 * accepted and the ownership log (helpers/chaos/checker.ts): no duplicate, nothing foreign,
 * no interleaving, no accepted sample of an owner lost, no unexcused gap.
 * The writers retry 5xx and refused connections for hours, as Prometheus does from its WAL, so
 * an outage delays samples but does not make a writer give up.
 *
 * One legitimate exception, to rule 4 (gaps): when both replicas go down within the Prometheus
 * timeout of each other, the follower's samples taken after the owner's last one were accepted
 * but are rightly not stored (the follower was never live long enough to take over); so in a gap
 * with the owner's samples at both ends, the other replica's accepted samples within takeover
 * time + interval + spread of an end do not make it a violation.
 * Rule 3 (an owner's accepted samples are stored) has no exception.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveOutputs, storedHaSamples } from '../helpers/ha-load.js';
import { formatProblems, soakProblems, type SoakData } from '../helpers/chaos/checker.js';
import { describeEvent, healAll, infraLane, replicaLane, type FaultEvent } from '../helpers/chaos/faults.js';
import { readOwnership, type OwnershipRow } from '../helpers/chaos/ownership.js';
import { chaosSeed, laneRng } from '../helpers/chaos/prng.js';
import { allDownWindows } from '../helpers/chaos/replica-sender.js';
import { canaryProblems, faultErrors, proxyProblems, restartProblems, senderRecordProblems } from '../helpers/chaos/sanity.js';
import { settle } from '../helpers/chaos/settle.js';
import { ChaosWorld } from '../helpers/chaos/world.js';
import { waitFor } from '../helpers/ports.js';

const SECONDS = Number(process.env.PROMFLEET_CHAOS_SECONDS ?? '300');
const SEED = chaosSeed();
const GROUP = 'g';
const SERIES = 20;
const INTERVAL = 1000;
const SPREAD = 800;
/** --leader-election.pg-advisory-lock.prometheus-timeout + --election.interval (haArgs). */
const TAKEOVER = 2_000 + 250;
const RERUN = `PROMFLEET_CHAOS_SEED=${SEED} PROMFLEET_CHAOS_SECONDS=${SECONDS} npx vitest run --config vitest.soak.config.ts`;

if (!Number.isFinite(SECONDS) || SECONDS < 10) throw new Error(`PROMFLEET_CHAOS_SECONDS must be a number >= 10: ${process.env.PROMFLEET_CHAOS_SECONDS}`);

const world = new ChaosWorld({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: SPREAD, prefix: 'pfchaos', maxRetryMs: 6 * 3_600_000 });
const faults: FaultEvent[] = [];
/** When the faults began (fault times are printed relative to it). */
let t0 = 0;
let failed = true;
/** The run's summary and every problem, uncapped, for the saved log. */
let report = '';

beforeAll(async () => {
  console.log(`ha-chaos: seed ${SEED}, ${SECONDS} s of faults (re-run: ${RERUN})`);
  await world.start();
}, 180_000);

afterAll(async () => {
  if (failed) {
    const outputs = await world.outputs().catch((err: unknown) => ({ error: String(err) }));
    const file = saveOutputs('ha-chaos', { ...outputs, faults: faults.map((e) => describeEvent(e, t0)).join('\n'), report });
    console.error(`ha-chaos failed with seed ${SEED}; process output in ${file}; re-run: ${RERUN}`);
  }
  await world.destroy();
}, 120_000);

describe(`seeded chaos under an HA pair (seed ${SEED})`, () => {
  it('whatever fails, every series is what its owners had accepted: no loss, no duplicate, no interleaving, no unexcused gap', async () => {
    const [a, b] = world.senders;
    a.start();
    b.start();
    await waitFor('a leader of the group', async () => (await world.leader()) !== undefined, 60_000, 200);

    t0 = Date.now();
    const stopLanes = new AbortController();
    const deadline = t0 + SECONDS * 1000;
    // The lanes end themselves before the deadline; the abort is a bound in case one hangs.
    const bound = setTimeout(() => stopLanes.abort(), SECONDS * 1000 + 120_000);
    await Promise.all([
      infraLane(world, laneRng(SEED, 0), deadline, faults, stopLanes.signal),
      replicaLane(world, laneRng(SEED, 1), deadline, faults, stopLanes.signal),
    ]);
    clearTimeout(bound);
    faults.sort((x, y) => x.at - y.at);
    await healAll(world);
    const healedAt = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    await Promise.all(world.senders.map((s) => s.stop()));
    const settled = await settle(world, 120_000);

    const stored = await storedHaSamples(world.db);
    const ownership = await readOwnership(world.db, GROUP);
    const data: SoakData = {
      series: SERIES, intervalMs: INTERVAL, spreadMs: SPREAD, takeoverMs: TAKEOVER, stored, ownership,
      replicas: world.senders.map((s) => ({ replica: s.replica, index: s.index, sent: s.sent(), accepted: s.accepted() })),
    };
    const problems = soakProblems(data);
    const harness = [
      ...canaryProblems(data), ...senderRecordProblems(world.senders), ...proxyProblems(world.proxies), ...restartProblems(world.procs), ...faultErrors(faults),
      ...(settled ? [] : ['settle: the stored data or the leader\'s queue still changed 120 s after the writers stopped']),
      ...world.senders.filter((s) => (s.lastAcceptedAt() ?? 0) < healedAt + 2_000).map((s) => `liveness: replica ${s.replica} had nothing accepted in the 10 s after the heal`),
    ];

    const storedCount = [...stored.values()].reduce((n, l) => n + l.length, 0);
    const own = (o: OwnershipRow) => `ownership epoch ${o.epoch}: ${o.replica} (${o.fromMs ?? '-inf'}, ${o.toMs ?? '+inf'}]`;
    const summary = [
      `ha-chaos seed ${SEED}: ${faults.length} faults in ${SECONDS} s, ${ownership.length} ownership epochs, ${storedCount} samples stored`,
      ...world.senders.map((s) => `replica ${s.replica}: ${s.sent().length} samples sent, ${s.accepted().length} accepted, ${s.requests().filter((r) => r.attempts > 1).length} requests retried`),
      ...allDownWindows(world.senders, Date.now()).map((w) => `both replicas down: +${((w.from - t0) / 1000).toFixed(1)} s to +${(((w.to ?? 0) - t0) / 1000).toFixed(1)} s`),
      ...faults.map((e) => describeEvent(e, t0)),
    ];
    console.log([...summary, ...ownership.slice(-10).map(own)].join('\n'));
    report = [...summary, ...ownership.map(own), ...harness, ...problems.map((p) => `${p.rule}: ${p.text}`)].join('\n');

    const lines = [...harness, ...formatProblems(problems)];
    failed = lines.length > 0;
    expect(lines, `seed ${SEED}: ${problems.length} violations, ${harness.length} other problems; re-run: ${RERUN}`).toEqual([]);
  }, SECONDS * 1000 + 420_000);
});
