/**
 * Where the machine's CPU went during a run, per process: the end-to-end figures are bounded by
 * the two cores that the load generator, ingress, Redis, worker and PostgreSQL share, so the
 * e2e benchmark prints each one's CPU per durable sample beside the total the cores could give.
 * Linux only (/proc); elsewhere the readings are NaN and the line says so.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Redis } from 'ioredis';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on

/** Busy CPU seconds of the whole machine since boot (every CPU, idle and iowait excluded). */
export function machineBusySeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = cpu;
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Redis's own CPU seconds (user + system), from INFO cpu. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** This process's CPU seconds (the load generator runs in it). */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface CpuReading {
  readonly machine: number;
  readonly ingress: number;
  readonly worker: number;
  /** Absent when the queue is on PostgreSQL: Redis then does no work for the run. */
  readonly redis?: number;
  readonly loadgen: number;
}

export interface CpuBudget {
  /** CPU µs per durable sample, by process; `postgres and the rest` is the machine's total less the others. */
  readonly perDurableSampleUs: Record<string, number>;
  /** µs of CPU the machine has per durable sample at the measured rate (cores / rate). */
  readonly availableUs: number;
}

export function cpuBudget(before: CpuReading, after: CpuReading, durableSamples: number, seconds: number): CpuBudget {
  const d = (k: keyof CpuReading) => (after[k] ?? 0) - (before[k] ?? 0);
  const us = (s: number) => (s * 1e6) / durableSamples;
  const withRedis = before.redis !== undefined && after.redis !== undefined;
  const known = d('ingress') + d('worker') + d('redis') + d('loadgen');
  return {
    perDurableSampleUs: {
      loadgen: us(d('loadgen')),
      ingress: us(d('ingress')),
      ...(withRedis ? { redis: us(d('redis')) } : {}),
      worker: us(d('worker')),
      'postgres and the rest': us(d('machine') - known),
    },
    availableUs: (os.cpus().length * seconds * 1e6) / durableSamples,
  };
}
