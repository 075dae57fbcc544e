import { describe, expect, it } from 'vitest';
import { POSTGRES, REDIS, chooseServiceSource, type ServiceProbes, type ServiceSpec } from '../helpers/service-source.js';

interface Recorded { readonly probes: ServiceProbes; readonly loopbackPorts: number[]; readonly pathLookups: string[]; dockerChecks: number; embeddedChecks: number }

function probes(env: Record<string, string | undefined>, loopbackUp: boolean, docker: boolean, embedded = false, onPath = false): Recorded {
  const rec: Recorded = {
    loopbackPorts: [],
    pathLookups: [],
    dockerChecks: 0,
    embeddedChecks: 0,
    probes: {
      env,
      loopbackAnswers: async (port) => { rec.loopbackPorts.push(port); return loopbackUp; },
      embeddedAvailable: () => { rec.embeddedChecks++; return embedded; },
      dockerAvailable: () => { rec.dockerChecks++; return docker; },
      onPath: (name) => { rec.pathLookups.push(name); return onPath; },
    },
  };
  return rec;
}

describe.each<[string, ServiceSpec, string, number]>([
  ['PostgreSQL', POSTGRES, 'PROMFLEET_TEST_PG_URL', 5432],
  ['Redis', REDIS, 'PROMFLEET_TEST_REDIS_URL', 6379],
])('where the tests take %s from', (_name, spec, envVar, port) => {
  it('the variable comes first: neither loopback, the embedded server nor Docker is probed', async () => {
    const r = probes({ [envVar]: 'scheme://elsewhere:1/x' }, true, true, true);
    expect(await chooseServiceSource(spec, r.probes)).toEqual({ kind: 'env', url: 'scheme://elsewhere:1/x' });
    expect(r.loopbackPorts).toEqual([]);
    expect(r.embeddedChecks).toBe(0);
    expect(r.dockerChecks).toBe(0);
  });

  it('without the variable (or with it empty), the loopback service on the standard port, before the embedded server and Docker', async () => {
    for (const env of [{}, { [envVar]: '' }]) {
      const r = probes(env, true, true, true);
      expect(await chooseServiceSource(spec, r.probes)).toEqual({ kind: 'loopback', url: spec.loopbackUrl });
      expect(r.loopbackPorts).toEqual([port]);
      expect(r.embeddedChecks).toBe(0);
      expect(r.dockerChecks).toBe(0);
    }
    expect(new URL(spec.loopbackUrl).host).toBe(`127.0.0.1:${port}`);
  });

  it('a container only when nothing answers on loopback, no embedded server stands in and Docker is there', async () => {
    const r = probes({ CI: 'true' }, false, true);
    expect(await chooseServiceSource(spec, r.probes)).toEqual({ kind: 'container' });
    expect(r.loopbackPorts).toEqual([port]);
    expect(r.dockerChecks).toBe(1);
  });

  it('with none of them the run fails, naming the variable and the port, in CI and outside it', async () => {
    await expect(chooseServiceSource(spec, probes({}, false, false).probes))
      .rejects.toThrow(new RegExp(`^no ${spec.name}: set ${envVar}, run one on 127\\.0\\.0\\.1:${port}`));
    await expect(chooseServiceSource(spec, probes({ CI: 'true' }, false, false).probes))
      .rejects.toThrow(new RegExp(`^no ${spec.name} \\(CI must provide it.*set ${envVar}`));
  });
});

describe('the embedded PostgreSQL as a test service', () => {
  it('stands in for PostgreSQL when nothing answers on 127.0.0.1:5432, before a container', async () => {
    const r = probes({}, false, true, true);
    expect(await chooseServiceSource(POSTGRES, r.probes)).toEqual({ kind: 'embedded' });
    expect(r.loopbackPorts).toEqual([5432]);
    expect(r.embeddedChecks).toBe(1);
    expect(r.dockerChecks).toBe(0);
  });

  it('gives way to a container when its binaries are not installed', async () => {
    const r = probes({}, false, true, false);
    expect(await chooseServiceSource(POSTGRES, r.probes)).toEqual({ kind: 'container' });
    expect(r.embeddedChecks).toBe(1);
  });

  it('never stands in for Redis', async () => {
    const r = probes({}, false, true, true);
    expect(await chooseServiceSource(REDIS, r.probes)).toEqual({ kind: 'container' });
    expect(r.embeddedChecks).toBe(0);
    await expect(chooseServiceSource(REDIS, probes({}, false, false, true).probes)).rejects.toThrow(/^no Redis/);
  });
});

describe('a redis-server from PATH as the Redis test service', () => {
  it('is started by the run when nothing answers on 127.0.0.1:6379, before a container', async () => {
    const r = probes({}, false, true, false, true);
    expect(await chooseServiceSource(REDIS, r.probes)).toEqual({ kind: 'binary', name: 'redis-server' });
    expect(r.pathLookups).toEqual(['redis-server']);
    expect(r.dockerChecks).toBe(0);
  });

  it('is not looked for while one answers on loopback, nor for PostgreSQL', async () => {
    const r = probes({}, true, true, false, true);
    expect(await chooseServiceSource(REDIS, r.probes)).toEqual({ kind: 'loopback', url: REDIS.loopbackUrl });
    const p = probes({}, false, true, false, true);
    expect(await chooseServiceSource(POSTGRES, p.probes)).toEqual({ kind: 'container' });
    expect(r.pathLookups).toEqual([]);
    expect(p.pathLookups).toEqual([]);
  });

  it('missing, with no Docker either, fails naming the package to install', async () => {
    await expect(chooseServiceSource(REDIS, probes({}, false, false).probes)).rejects.toThrow(/apt install redis-server/);
  });
});
