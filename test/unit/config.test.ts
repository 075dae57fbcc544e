import { describe, it, expect } from 'vitest';
import { parseConfig, envName, maskUrl, FLAGS } from '../../src/config/index.js';
import { parseBytes, parseDuration, parseListenAddress } from '../../src/config/value-parsers.js';

describe('config', () => {
  it('applies defaults', () => {
    const c = parseConfig([], {});
    expect({ host: c.http.host, port: c.http.port }).toEqual({ host: '0.0.0.0', port: 9201 });
    expect(c.storage.schema).toBe('prom');
    expect(c.queue.queuePrefix).toBe('promfleet');
    expect(c.queue.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.ingress.limits.maxBodyBytes).toBe(32 * 1024 * 1024);
    expect(c.ingress.limits.maxSampleAgeMs).toBe(0);
    expect(c.storage.connectionString).toBe('postgres://postgres@127.0.0.1:5432/postgres');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('gives each component its slice, frozen all the way down', () => {
    const c = parseConfig(['--ha.max-clock-skew=30s', '--web.max-decompressed-bytes=128MiB', '--ha.group=g', '--ha.replica=r', '--web.tls-cert=/c.pem', '--web.tls-key=/k.pem'], {});
    expect(Object.keys(c).sort()).toEqual(['auth', 'election', 'http', 'ingress', 'log', 'queue', 'read', 'shutdown', 'storage', 'worker']);
    // A flag several parts read reaches each of their slices.
    expect([c.worker.maxClockSkewMs, c.election.maxClockSkewMs]).toEqual([30_000, 30_000]);
    expect([c.ingress.limits.maxDecompressedBytes, c.read.maxDecompressedBytes, c.worker.maxDecompressedBytes]).toEqual(Array(3).fill(128 * 2 ** 20));
    expect([c.ingress.quietAfterMs, c.election.timeoutMs]).toEqual([30_000, 30_000]);
    expect(c.election.identity).toEqual({ group: 'g', replica: 'r' });
    expect([c.ingress.ha.defaultGroup, c.ingress.ha.defaultReplica]).toEqual(['g', 'r']);
    expect(c.http.tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem' });
    expect(c.read.ignoreLabels).toEqual(['__replica__']);
    expect(c.storage.migration).toEqual({ schema: 'prom', timescaledb: true, partitionIntervalMs: 86_400_000, compressAfterMs: 86_400_000, retentionMs: 0 });
    for (const inner of [c.http.limits, c.ingress.limits.decode, c.ingress.coalesce, c.storage.migration, c.election.identity, c.read.ignoreLabels]) {
      expect(Object.isFrozen(inner)).toBe(true);
    }
    expect(parseConfig([], {}).election.identity).toBeUndefined();
  });

  it('reads PROMFLEET_* variables and lets flags win over them', () => {
    const env = { PROMFLEET_PG_SCHEMA: 'fromenv', PROMFLEET_QUEUE_PREFIX: 'envq' };
    const c = parseConfig(['--pg.schema=fromflag'], env);
    expect(c.storage.schema).toBe('fromflag');
    expect(c.queue.queuePrefix).toBe('envq');
  });

  it('names the environment variable of every flag by the documented rule', () => {
    expect(envName('web.listen-address')).toBe('PROMFLEET_WEB_LISTEN_ADDRESS');
    expect(envName('ha.replica-label')).toBe('PROMFLEET_HA_REPLICA_LABEL');
    for (const name of Object.keys(FLAGS)) expect(envName(name)).toMatch(/^PROMFLEET_[A-Z0-9_]+$/);
  });

  it('accepts "--flag value", "-flag value" and the original adapter aliases', () => {
    const c = parseConfig(['--pg.host', 'db.example', '-pg.port', '6543', '--leader-election.pg-advisory-lock-id=7'], {});
    expect(c.storage.connectionString).toBe('postgres://postgres@db.example:6543/postgres');
    expect(c.ingress.ha.defaultGroup).toBe('7');
  });

  it('lets --pg.url win over the parts and keeps passwords encoded', () => {
    expect(parseConfig(['--pg.url=postgres://u:p@h:1/d', '--pg.host=x'], {}).storage.connectionString).toBe('postgres://u:p@h:1/d');
    expect(parseConfig(['--pg.password=p@ss/word'], {}).storage.connectionString).toBe('postgres://postgres:p%40ss%2Fword@127.0.0.1:5432/postgres');
  });

  it('stops on an invalid value, naming the setting and the value', () => {
    expect(() => parseConfig(['--web.max-body-bytes=lots'], {})).toThrow(/"lots" for --web.max-body-bytes/);
    expect(() => parseConfig([], { PROMFLEET_PG_PORT: '99999' })).toThrow(/"99999" for PROMFLEET_PG_PORT/);
    expect(() => parseConfig(['--pg.schema=Bad-Name'], {})).toThrow(/--pg.schema/);
    expect(() => parseConfig(['--log.level=loud'], {})).toThrow(/--log.level.*one of/);
    expect(() => parseConfig(['--no.such-flag=1'], {})).toThrow(/unknown flag --no.such-flag/);
  });

  it('bounds the jobs the ingress gathers concurrent requests into', () => {
    const c = parseConfig([], {});
    expect([c.ingress.coalesce.maxParts, c.ingress.coalesce.maxSamples, c.ingress.coalesce.maxBytes, c.ingress.coalesce.waitMs]).toEqual([32, 32_000, 2 ** 20, 0]);
    expect(parseConfig(['--queue.job-max-batches=1', '--queue.job-wait=1ms'], {}).ingress.coalesce.waitMs).toBe(1);
    expect(() => parseConfig(['--queue.job-max-batches=0'], {})).toThrow(/"0" for --queue.job-max-batches/);
    expect(() => parseConfig(['--queue.job-max-samples=0'], {})).toThrow(/--queue.job-max-samples/);
    expect(() => parseConfig(['--queue.job-max-bytes=1GiB'], {})).toThrow(/--queue.job-max-bytes.*at most 256MiB/);
    expect(() => parseConfig(['--queue.job-wait=2s'], {})).toThrow(/--queue.job-wait.*at most 1s/);
  });

  it('checks rules that span settings', () => {
    expect(() => parseConfig(['--ha.replica=a'], {})).toThrow(/--ha.replica needs --ha.group/);
    expect(() => parseConfig(['--ha.replica-label=cluster'], {})).toThrow(/must differ/);
  });

  it('checks the security settings and the rules between them', () => {
    const c = parseConfig([], {});
    expect(c.auth.openPaths).toEqual(['/metrics', '/healthz', '/readyz']);
    expect(parseConfig(['--web.auth-open-paths='], {}).auth.openPaths).toEqual([]);
    expect([c.auth.credentialRate.status, c.ingress.groupRate.status]).toEqual([503, 503]);
    const limited = parseConfig(['--web.rate-limit.status=429'], {});
    expect([limited.auth.credentialRate.status, limited.ingress.groupRate.status]).toEqual([429, 429]);
    expect(() => parseConfig(['--web.rate-limit.status=418'], {})).toThrow(/--web.rate-limit.status/);
    expect(() => parseConfig(['--web.auth-open-paths=metrics'], {})).toThrow(/starting with \//);
    expect(() => parseConfig(['--web.tls-cert=/c.pem'], {})).toThrow(/--web.tls-cert and --web.tls-key go together/);
    expect(() => parseConfig(['--web.read-header-timeout=2m'], {})).toThrow(/must not exceed --web.read-timeout/);
    expect(() => parseConfig(['--web.read-timeout=0'], {})).toThrow(/--web.read-timeout/);
    expect(() => parseConfig(['--web.max-samples-per-series=600000'], {})).toThrow(/must not exceed --web.max-samples-per-request/);
  });

  it('masks passwords in connection strings, in the user info and in the query', () => {
    expect(maskUrl('postgres://u:s3cret@db:5432/prom?sslmode=require&sslpassword=k3y&password=pw2')).toBe('postgres://u:***@db:5432/prom?sslmode=require&sslpassword=***&password=***');
    expect(maskUrl('rediss://:r3dis@cache:6380/0')).toBe('rediss://:***@cache:6380/0');
    expect(maskUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(maskUrl('host=db password=x')).toBe('<unparseable url>');
  });

  it('parses sizes, durations and addresses', () => {
    expect(parseBytes('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseBytes('1000')).toBe(1000);
    expect(() => parseBytes('-1')).toThrow();
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('5 minutes')).toThrow();
    expect(parseListenAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('[::1]:9201')).toEqual({ host: '::1', port: 9201 });
    expect(() => parseListenAddress('9201')).toThrow();
  });

  it('keeps the HA clock skew below the follower margin, and times out a quiet replica after 30 s by default', () => {
    expect(() => parseConfig(['--ha.max-clock-skew=2m'], {})).toThrow(/--ha.max-clock-skew .* must be less than --ha.follower-margin/);
    const skewed = parseConfig(['--ha.max-clock-skew=30s'], {});
    expect([skewed.worker.maxClockSkewMs, skewed.election.maxClockSkewMs]).toEqual([30_000, 30_000]);
    expect(parseConfig([], {}).election.timeoutMs).toBe(30_000);
  });
});
