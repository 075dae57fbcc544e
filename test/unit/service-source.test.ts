import { describe, expect, it } from 'vitest';
import { POSTGRES, REDIS, chooseServiceSource, type ServiceProbes, type ServiceSpec } from '../helpers/service-source.js';

interface Recorded { readonly probes: ServiceProbes; readonly loopbackPorts: number[]; dockerChecks: number }

function probes(env: Record<string, string | undefined>, loopbackUp: boolean, docker: boolean): Recorded {
  const rec: Recorded = {
    loopbackPorts: [],
    dockerChecks: 0,
    probes: {
      env,
      loopbackAnswers: async (port) => { rec.loopbackPorts.push(port); return loopbackUp; },
      dockerAvailable: () => { rec.dockerChecks++; return docker; },
    },
  };
  return rec;
}

describe.each<[string, ServiceSpec, string, number]>([
  ['PostgreSQL', POSTGRES, 'PROMFLEET_TEST_PG_URL', 5432],
  ['Redis', REDIS, 'PROMFLEET_TEST_REDIS_URL', 6379],
])('where the tests take %s from', (_name, spec, envVar, port) => {
  it('the variable comes first: neither loopback nor Docker is probed', async () => {
    const r = probes({ [envVar]: 'scheme://elsewhere:1/x' }, true, true);
    expect(await chooseServiceSource(spec, r.probes)).toEqual({ kind: 'env', url: 'scheme://elsewhere:1/x' });
    expect(r.loopbackPorts).toEqual([]);
    expect(r.dockerChecks).toBe(0);
  });

  it('without the variable (or with it empty), the loopback service on the standard port, before Docker', async () => {
    for (const env of [{}, { [envVar]: '' }]) {
      const r = probes(env, true, true);
      expect(await chooseServiceSource(spec, r.probes)).toEqual({ kind: 'loopback', url: spec.loopbackUrl });
      expect(r.loopbackPorts).toEqual([port]);
      expect(r.dockerChecks).toBe(0);
    }
    expect(new URL(spec.loopbackUrl).host).toBe(`127.0.0.1:${port}`);
  });

  it('a container only when nothing answers on loopback and Docker is there', async () => {
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
