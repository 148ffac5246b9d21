import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { until } from '../multiprocess/cluster.js';
import { sleep } from '../support/databases.js';
import type { ChaosContext } from './chaos-run.js';
import type { LedgerLine } from './chaos-protocol.js';
import type { Random } from './chaos-env.js';
import type { Member } from './fleet.js';
import type { OwnPostgres } from './own-postgres.js';

/**
 * The chaos steps: each does its damage `count` times, at seeded random gaps (`gaps`), while
 * the jobs are enqueued. `plannedMs` of a schedule is how long the producer should spread the
 * jobs over, so that every disruption meets jobs in flight.
 */
export interface Schedule {
  gaps: number[];
  plannedMs: number;
}

export function schedule(rnd: Random, count: number, [lo, hi]: [number, number], perStepMs = 0): Schedule {
  const gaps = Array.from({ length: count }, () => rnd.int(lo, hi));
  return { gaps, plannedMs: gaps.reduce((a, b) => a + b, 0) + count * perStepMs };
}

/** Whether one of the worker's handlers started within `ms`: with jobs of at least that long, it is running now. */
const runningNow = (m: Member, ms: number, kind?: string) => {
  const now = Date.now();
  return ledgerOf(m).some((l) => l.t === 'run' && now - l.at < ms && (kind === undefined || l.kind === kind));
};

/** A live worker picked at random, once at least two are up (a replacement may still be booting). */
async function victim(ctx: ChaosContext): Promise<Member> {
  await until(async () => ctx.fleet.alive().length >= 2, 60_000, 'two workers to be up');
  return ctx.rnd.pick(ctx.fleet.alive());
}

/** A worker's ledger so far (none before its first line). */
const ledgerOf = (m: Member): LedgerLine[] =>
  (existsSync(m.ledger) ? readFileSync(m.ledger, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LedgerLine];
      } catch {
        return [];
      }
    });

/**
 * SIGKILL a random worker the moment one of its handlers has just started (so it dies in the
 * middle of its work), and start a replacement.
 */
export function killWorkers(s: Schedule) {
  return async (ctx: ChaosContext) => {
    for (const gap of s.gaps) {
      await sleep(gap);
      const m = await victim(ctx);
      await until(async () => ctx.producer.done || runningNow(m, 15), 30_000, `worker ${m.index} to start a job`);
      await ctx.fleet.kill(m);
      ctx.fleet.startInBackground();
    }
    await ctx.fleet.booted();
    ctx.extra['replacements started'] = s.gaps.length;
  };
}

/**
 * pg_terminate_backend of every session of the workers, and of theirs only: the exact
 * application_name of their pools, or that name followed by ':' (their LISTEN connections,
 * `<name>:listen:<channel>`), in this database, never our own session.
 */
export function terminateConnections(s: Schedule, url: string, applicationName: string) {
  return async (ctx: ChaosContext) => {
    let cut = 0;
    for (const gap of s.gaps) {
      await sleep(gap);
      const at = Date.now();
      const client = new pg.Client({ connectionString: url, application_name: 'nbj-chaos-terminator' });
      await client.connect();
      try {
        const { rows } = await client.query<{ pid: number; application_name: string; ok: boolean }>(
          `SELECT pid, application_name, pg_terminate_backend(pid) AS ok FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND (application_name = $1 OR left(application_name, length($1) + 1) = $1 || ':')`,
          [applicationName],
        );
        if (!rows.length) ctx.problems.push(`pg_terminate_backend round at ${at} found no session of the workers (${applicationName})`);
        cut += rows.filter((r) => r.ok).length;
      } finally {
        await client.end();
      }
      ctx.disruptions.push({ kind: 'terminate', from: at, to: Date.now(), pid: null });
    }
    ctx.extra['terminate rounds'] = s.gaps.length;
    ctx.extra['sessions terminated'] = cut;
  };
}

/** Stops the suite's own PostgreSQL (fast, then immediate, alternately) for a random outage, and starts it again. */
export function restartDatabase(s: Schedule, db: OwnPostgres, outageMs: [number, number]) {
  return async (ctx: ChaosContext) => {
    const outages: number[] = [];
    for (const [i, gap] of s.gaps.entries()) {
      await sleep(gap);
      const from = Date.now();
      await db.stop(i % 2 === 0 ? 'fast' : 'immediate');
      await sleep(ctx.rnd.int(...outageMs));
      await db.start();
      const to = Date.now();
      outages.push(to - from);
      ctx.disruptions.push({ kind: 'restart', from, to, pid: null });
    }
    ctx.extra['restarts (fast, immediate …)'] = s.gaps.length;
    ctx.extra['outages ms'] = outages.join(', ');
  };
}

/**
 * SIGTERM a worker (`whileBusy`: once a long job of it runs; otherwise at whatever moment the
 * gap ends, idle or claiming); it must drain and exit 0 (checked by the fleet), record the end
 * of its drain, and leave no job leased to it. Then a replacement starts.
 */
export function terminateWorkers(s: Schedule, whileBusy: boolean) {
  return async (ctx: ChaosContext) => {
    let released = 0;
    for (const gap of s.gaps) {
      await sleep(gap);
      const m = await victim(ctx);
      if (whileBusy) await until(async () => ctx.producer.done || runningNow(m, 200, 'long'), 30_000, `worker ${m.index} to run a long job`);
      const wid = ledgerOf(m).find((l): l is Extract<LedgerLine, { t: 'wid' }> => l.t === 'wid')?.wid;
      const signalledAt = Date.now();
      await ctx.fleet.terminate(m);
      const lines = ledgerOf(m);
      if (!lines.some((l) => l.t === 'drained')) ctx.problems.push(`worker ${m.index} (pid ${m.pid}) exited after SIGTERM without finishing its drain`);
      released += lines.filter((l) => l.t === 'event' && l.type === 'released').length;
      if (!wid) {
        ctx.problems.push(`worker ${m.index} (pid ${m.pid}) never recorded its worker id`);
      } else {
        const held = await ctx.target.query<{ id: unknown; state: string; attempt: unknown }>(
          `SELECT id, state, attempt FROM ${ctx.target.jobsTable} WHERE locked_by = ${ctx.target.placeholders === 'pg' ? '$1' : '?'}`,
          [wid],
        );
        if (held.length) {
          const ran = new Set(lines.filter((l) => l.t === 'run').map((l) => (l as { job: string }).job));
          ctx.problems.push(
            `worker ${m.index} (pid ${m.pid}, ${wid}), SIGTERMed at ${signalledAt}, exited still holding ` +
              held.map((r) => `#${String(r.id)} ${r.state} attempt ${String(r.attempt)}${ran.has(String(r.id)) ? '' : ' (never started there)'}`).join(', '),
          );
        }
      }
      ctx.fleet.startInBackground();
    }
    await ctx.fleet.booted();
    ctx.extra['SIGTERMs'] = s.gaps.length;
    ctx.extra['released by the SIGTERMed'] = released;
  };
}
