/**
 * `npm run bench [-- --quick] [--systems=a,b] [--workloads=process,latency,cross-process] [--reps=N] [--jobs=N] [--ours=ours-pg] [--profile]`
 *
 * Runs every workload for every system, each step in its own child process, one at a time,
 * the systems in a rotated order in each repetition; prints a table per workload, the
 * targets, and writes the raw results to bench/results/latest.json.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { TMP_DIR } from './config.js';
import { killAllChildren, runInChild } from './fork.js';
import { machineInfo } from './machine.js';
import { FULL, QUICK, buildPlan, kLabel, rotate, type Row, type Sizes, type WorkloadId } from './plan.js';
import { tables, targets, targetTable, type Sample } from './report.js';
import { SYSTEM_IDS } from './systems/index.js';
import { waitForQuiet } from './quiet.js';
import { describeSettings } from './settings.js';

const ALL_WORKLOADS: WorkloadId[] = ['enqueue-one', 'enqueue-bulk', 'process', 'latency', 'cross-process', 'backlog', 'ceiling'];
const QUICK_SYSTEMS = ['ours-pg', 'ours-pg-defaults', 'ours-sqlite', 'ours-sqlite-defaults', 'graphile-worker', 'pg-boss', 'bullmq-redis'];

function arg(name: string): string | undefined {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}

/** Is the TypeORM storage there yet? (A placeholder throws StorageUnavailableError.) */
async function typeormWorks(): Promise<string | null> {
  try {
    const { createStorage } = await import('../lib/storage/create-storage.js');
    const storage = await createStorage({ type: 'sqlite', database: ':memory:' }, undefined, () => undefined);
    await storage.init();
    await storage.close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const quick = process.argv.includes('--quick');
  const sizes: Sizes = { ...(quick ? QUICK : FULL) };
  if (arg('reps')) sizes.reps = Number(arg('reps'));
  if (arg('jobs')) sizes.jobs = sizes.enqueueJobs = Number(arg('jobs'));
  const workloads = new Set((arg('workloads')?.split(',') ?? ALL_WORKLOADS) as WorkloadId[]);
  for (const w of workloads) if (!ALL_WORKLOADS.includes(w)) throw new Error(`unknown workload '${w}'; known: ${ALL_WORKLOADS.join(', ')}`);

  let systems = arg('systems')?.split(',') ?? (quick ? QUICK_SYSTEMS : SYSTEM_IDS.filter((s) => s !== 'ours-memory'));
  for (const s of systems) if (!SYSTEM_IDS.includes(s)) throw new Error(`unknown system '${s}'; known: ${SYSTEM_IDS.join(', ')}`);
  const notes: string[] = [];
  const typeormProblem = await typeormWorks();
  if (typeormProblem && systems.some((s) => s.startsWith('ours-') && s !== 'ours-memory')) {
    notes.push(`Our TypeORM storage does not work yet (${typeormProblem}): ours runs on the memory storage instead.`);
    systems = systems.filter((s) => !s.startsWith('ours-'));
    systems.unshift('ours-memory');
  }
  const ours = arg('ours') ?? (systems.includes('ours-pg') ? 'ours-pg' : 'ours-memory');
  const oursSqlite = 'ours-sqlite';

  mkdirSync(TMP_DIR, { recursive: true });
  takeLock();
  const logFile = `${TMP_DIR}/bench.log`;
  writeFileSync(logFile, '');
  const machine = await machineInfo();
  const plan = buildPlan(systems, sizes, workloads);
  console.log(`Benchmark: ${quick ? 'quick' : 'full'}; ${sizes.reps} repetition(s); ${plan.length} rows; systems: ${systems.join(', ')}`);
  for (const n of notes) console.log(`NOTE: ${n}`);
  console.log(`Child output goes to ${logFile}.`);

  if (quick) quietWaitMs = 0;
  const samples: Sample[] = [];
  // Workload by workload; in each repetition every variant's rows in a rotated order.
  for (const w of ALL_WORKLOADS) {
    const mine = plan.filter((r) => r.workload === w);
    if (!mine.length) continue;
    const variants = [...new Set(mine.map((r) => r.variant))];
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const v of variants) {
        for (const row of rotate(mine.filter((r) => r.variant === v), rep)) {
          samples.push(await runRow(row, rep, logFile));
        }
      }
    }
  }
  await cleanupAll(systems, logFile);

  const backlogs = sizes.backlogs.map(kLabel);
  const out = tables(samples, sizes.jobs, sizes.enqueueJobs, sizes.latencyJobs, backlogs);
  const ts = targets(samples, ours, oursSqlite, backlogs);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n${out}\n\n### Targets (ours ÷ peer, medians of this run)\n\n${targetTable(ts)}\n`);
  console.log(`Total time: ${seconds.toFixed(0)} s`);

  mkdirSync('bench/results', { recursive: true });
  // Only a default full run replaces the committed results; quick and partial runs have their own files.
  const partial = ['systems', 'workloads', 'reps', 'jobs', 'ours'].some((a) => arg(a) !== undefined) || profile;
  const file = quick ? 'bench/results/quick.json' : partial ? 'bench/results/partial.json' : 'bench/results/latest.json';
  writeFileSync(file, JSON.stringify({
    mode: quick ? 'quick' : 'full',
    finishedAt: new Date().toISOString(),
    durationSeconds: Math.round(seconds),
    sizes,
    systems,
    notes,
    machine,
    settings: await describeSettings(systems),
    samples,
    targets: ts,
    markdown: out,
  }, null, 2));
  console.log(`Raw results: ${file}`);
}

let quietWaitMs = 10_000;
/** `--profile`: each measured step writes a V8 CPU profile to .bench-tmp/profiles. */
const profile = process.argv.includes('--profile');

async function runRow(row: Row, rep: number, logFile: string): Promise<Sample> {
  const started = performance.now();
  const tag = `[${row.workload}${row.variant ? ` ${row.variant}` : ''} #${rep + 1}] ${row.label}`;
  process.stdout.write(`${tag} ... `);
  let last: Sample | null = null;
  let busyBefore: number | null = null;
  for (const [i, step] of row.steps.entries()) {
    // Every measured step starts on a fresh checkpoint: no system pays for the WAL another left.
    if (i === row.steps.length - 1) {
      await checkpoint();
      busyBefore = await waitForQuiet(quietWaitMs, 0.25, quietWaitMs ? 500 : 100);
    }
    const measured = i === row.steps.length - 1;
    const execArgv = profile && measured
      ? ['--cpu-prof', `--cpu-prof-dir=${TMP_DIR}/profiles`, `--cpu-prof-name=${row.system}-${step.task}-${row.variant || 'x'}-${rep + 1}.cpuprofile`]
      : [];
    const reply = await runInChild(step, step.params.timeoutMs, logFile, execArgv);
    if (!reply.ok) {
      last = { workload: row.workload, variant: row.variant, label: row.label, system: row.system, rep, ok: false, error: `${step.task}: ${reply.error}`, wallMs: 0 };
      break;
    }
    last = { workload: row.workload, variant: row.variant, label: row.label, system: row.system, rep, ok: true, result: reply.result, wallMs: 0 };
  }
  last!.wallMs = performance.now() - started;
  last!.cpuBusyBefore = busyBefore;
  const load = busyBefore !== null && busyBefore > 0.25 ? ` (machine ${Math.round(busyBefore * 100)}% busy before)` : '';
  console.log((last!.ok ? summary(last!.result!) : `FAILED: ${last!.error}`) + load);
  return last!;
}

async function checkpoint(): Promise<void> {
  try {
    const { withPg } = await import('./db.js');
    await withPg((c) => c.query('CHECKPOINT'));
  } catch (err) {
    console.log(`(CHECKPOINT failed: ${(err as Error).message})`);
  }
}

function summary(r: Record<string, unknown>): string {
  const keys = ['perSec', 'p50', 'p99', 'idleCpuPct', 'ms', 'rssMb', 'updateTps', 'insertTps'];
  return keys.filter((k) => typeof r[k] === 'number').map((k) => `${k}=${(r[k] as number).toFixed(k === 'perSec' ? 0 : 2)}`).join(' ');
}

/** Drops every schema, database, file and Redis db the run made. */
async function cleanupAll(systems: string[], logFile: string): Promise<void> {
  for (const system of systems) {
    const reply = await runInChild({ task: 'cleanup', system, params: { timeoutMs: 60_000 } }, 60_000, logFile);
    if (!reply.ok) console.log(`cleanup of ${system} failed: ${reply.error}`);
  }
  const { dropPgSchema } = await import('./db.js');
  await dropPgSchema('bench_ceiling').catch(() => undefined);
}

const LOCK = `${TMP_DIR}/bench.lock`;
let lockHeld = false;

/** Two runs at once would drop each other's schemas (and share two cores): refuse the second. */
function takeLock(): void {
  try {
    const pid = Number(readFileSync(LOCK, 'utf8'));
    if (pid && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new Error(`another 'npm run bench' is running (pid ${pid}); wait for it, or remove ${LOCK} if it is stale`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(LOCK, String(process.pid));
  lockHeld = true;
}

function releaseLock(): void {
  if (lockHeld) rmSync(LOCK, { force: true });
  lockHeld = false;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAllChildren();
    process.exit(130);
  });
}
process.on('exit', () => {
  killAllChildren();
  releaseLock();
});

main().then(
  () => {
    killAllChildren();
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    killAllChildren();
    process.exit(1);
  },
);
