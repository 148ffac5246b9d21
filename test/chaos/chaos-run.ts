import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../multiprocess/cluster.js';
import { CHAOS, Random } from './chaos-env.js';
import type { ChaosWorkerSettings } from './chaos-protocol.js';
import { Fleet } from './fleet.js';
import type { Disruption } from './ledger.js';
import { Producer, type PlannedJob } from './producer.js';
import type { ChaosTarget } from './targets.js';
import { printVerdict, verdict, type Verdict } from './verdict.js';

export type WorkerTuning = Omit<ChaosWorkerSettings, 'storage' | 'ledger' | 'effectTable' | 'placeholders'>;

/**
 * Short leases and intervals, so a dead worker's jobs come back within seconds; many retries,
 * so attempts that a kill costs jobs which never ran (prefetched ones) cannot make them dead.
 */
export const FAST_LEASES: WorkerTuning = {
  concurrency: 6,
  prefetch: 4,
  leaseMs: 2000,
  heartbeatIntervalMs: 500,
  rescueIntervalMs: 1000,
  pollIntervalMs: 200,
  shutdownTimeoutMs: 2000,
  abortGraceMs: 1000,
  maxRetries: 30,
  retryDelayMs: 100,
};

/** What a scenario's chaos step gets. */
export interface ChaosContext {
  fleet: Fleet;
  rnd: Random;
  target: ChaosTarget;
  producer: Producer;
  tuning: WorkerTuning;
  /** What the step did, for the verdict (kills are recorded by the fleet too). */
  disruptions: Disruption[];
  /** Problems found along the way, with evidence. */
  problems: string[];
  /** Figures of the step, for the table. */
  extra: Record<string, string | number>;
}

export interface ChaosScenario {
  name: string;
  target: ChaosTarget;
  workers: number;
  jobs: PlannedJob[];
  tuning: WorkerTuning;
  /** How long the enqueues are spread over: about as long as the chaos step. */
  spreadMs: number;
  rnd: Random;
  /** The chaos itself, run while the jobs are enqueued. */
  chaos(ctx: ChaosContext): Promise<void>;
  /** How long the jobs may take to finish once the chaos is over. */
  settleMs?: number;
}

/**
 * One scenario: start the workers, enqueue the jobs while the chaos step runs, wait until
 * every job has finished, stop the workers, then judge (see verdict.ts) and print the figures.
 * The workers are killed and the ledgers removed whatever happens.
 */
export async function runChaos(s: ChaosScenario): Promise<Verdict> {
  const dir = mkdtempSync(join(tmpdir(), 'nbj-chaos-'));
  const { target, tuning } = s;
  const fleet = new Fleet(dir, { ...tuning, storage: target.workerStorage, effectTable: target.effectTable, placeholders: target.placeholders });
  const startedAt = Date.now();
  let keep = Boolean(process.env.CHAOS_KEEP);
  try {
    await Promise.all(Array.from({ length: s.workers }, () => fleet.start()));
    const producer = new Producer(target.storage, s.jobs, { spreadMs: s.spreadMs, maxBacklog: 50, maxAttempts: tuning.maxRetries + 1 });
    const ctx: ChaosContext = { fleet, rnd: s.rnd, target, producer, tuning, disruptions: [], problems: [], extra: {} };
    const chaosStart = Date.now();
    const [produced, chaos] = await Promise.allSettled([producer.run(), s.chaos(ctx)]);
    ctx.extra['enqueue + chaos s'] = ((Date.now() - chaosStart) / 1000).toFixed(1);
    const settleStart = Date.now();
    if (produced.status === 'rejected') ctx.problems.push(`the producer failed: ${String(produced.reason)}`);
    if (chaos.status === 'rejected') ctx.problems.push(`the chaos step failed: ${(chaos.reason as Error)?.stack ?? String(chaos.reason)}`);
    const settleMs = s.settleMs ?? 120_000;
    try {
      await until(async () => producer.done && (await unfinished(target)) === 0, settleMs, 'every job to finish');
    } catch (err) {
      ctx.problems.push(`${(err as Error).message}: ${await unfinished(target).catch(() => '?')} job(s) unfinished`);
    }
    ctx.extra['then until all finished s'] = ((Date.now() - settleStart) / 1000).toFixed(1);
    ctx.extra['slowest worker boot ms'] = Math.max(...fleet.members.map((m) => m.bootMs ?? 0));
    for (const late of await fleet.stopAll()) ctx.problems.push(late);
    for (const failure of fleet.bootFailures) ctx.problems.push(`a replacement worker did not start: ${failure}`);
    const v = await verdict({
      scenario: s.name,
      seed: CHAOS.seed,
      startedAt,
      target,
      fleet,
      producer,
      disruptions: [...ctx.disruptions, ...kills(fleet)],
      leaseMs: tuning.leaseMs,
      rescueIntervalMs: tuning.rescueIntervalMs,
      slackMs: CHAOS.slackMs,
      problems: ctx.problems,
      extra: ctx.extra,
    });
    printVerdict(v);
    // For a post-mortem of kept ledgers: what the suite did, and when.
    const members = fleet.members.map(({ index, pid, ending, killedAt, exit, bootMs }) => ({ index, pid, ending, killedAt, exit, bootMs }));
    writeFileSync(join(dir, 'suite.json'), JSON.stringify({ scenario: s.name, seed: CHAOS.seed, disruptions: ctx.disruptions, members }, null, 1));
    keep ||= v.problems.length > 0;
    if (v.problems.length) console.error(`${s.name}: ${v.problems.length} problem(s); ledgers kept in ${dir}\n- ${v.problems.join('\n- ')}`);
    return v;
  } finally {
    await fleet.killAll();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function unfinished(target: ChaosTarget): Promise<number> {
  const [row] = await target.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${target.jobsTable} WHERE state NOT IN ('completed', 'dead', 'cancelled')`);
  return Number(row?.n ?? 0);
}

function kills(fleet: Fleet): Disruption[] {
  return fleet.members
    .filter((m) => m.ending === 'sigkill' && m.killedAt !== null)
    .map((m) => ({ kind: 'sigkill', from: m.killedAt!, to: m.killedAt!, pid: m.pid }));
}
