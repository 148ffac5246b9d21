import { existsSync, readFileSync } from 'node:fs';
import type { JobKind, LedgerLine } from './chaos-protocol.js';

export type RunLine = Extract<LedgerLine, { t: 'run' }>;

/** Something the suite did to the workers or their database, and whom it hit. */
export interface Disruption {
  kind: 'sigkill' | 'terminate' | 'restart';
  /** Epoch ms: when it began and when it was over (the same instant for a kill or a cut). */
  from: number;
  to: number;
  /** The process hit (a kill), or every worker (a database event). */
  pid: number | null;
}

/** Why a job ran again after the run before: the first cause that fits. */
export type RerunCause = 'designed failure' | 'sigkill' | 'shutdown hand-back' | 'terminate' | 'restart';

export interface Rerun {
  job: string;
  kind: JobKind;
  prev: RunLine;
  next: RunLine;
  cause: RerunCause | null;
}

/** Every worker's ledger lines, read after the run. Torn lines (a kill mid-write) are counted, not parsed. */
export class Ledger {
  readonly lines: LedgerLine[] = [];
  torn = 0;

  constructor(files: string[]) {
    for (const file of files) {
      if (!existsSync(file)) continue;
      for (const text of readFileSync(file, 'utf8').split('\n')) {
        if (!text) continue;
        try {
          this.lines.push(JSON.parse(text) as LedgerLine);
        } catch {
          this.torn++;
        }
      }
    }
  }

  of<T extends LedgerLine['t']>(t: T): Extract<LedgerLine, { t: T }>[] {
    return this.lines.filter((l): l is Extract<LedgerLine, { t: T }> => l.t === t);
  }

  /** Runs per job id, in start order. */
  runsByJob(): Map<string, RunLine[]> {
    const byJob = new Map<string, RunLine[]>();
    for (const run of this.of('run')) {
      const list = byJob.get(run.job) ?? [];
      list.push(run);
      byJob.set(run.job, list);
    }
    for (const list of byJob.values()) list.sort((a, b) => a.at - b.at);
    return byJob;
  }

  /**
   * Every run after a job's first, with what explains it (null: nothing does). A run may
   * follow another only when the one before failed by design, ran in a process the suite
   * then SIGKILLed, was aborted by a shutdown (and handed back), or overlapped a database
   * disruption: `windowMs` after one ends still counts (a lease renewal missed during the
   * outage, a broken pooled connection found on first use afterwards).
   */
  reruns(disruptions: Disruption[], windowMs: number): Rerun[] {
    const shutdownAborts = new Set(this.of('abort').filter((a) => a.reason === 'ShutdownAbort').map((a) => `${a.job}:${a.attempt}:${a.pid}`));
    const out: Rerun[] = [];
    for (const [job, runs] of this.runsByJob()) {
      for (let i = 1; i < runs.length; i++) {
        const prev = runs[i - 1]!;
        const next = runs[i]!;
        let cause: RerunCause | null = null;
        if (prev.willFail) cause = 'designed failure';
        else if (disruptions.some((d) => d.kind === 'sigkill' && d.pid === prev.pid && prev.at <= d.from && d.from <= next.at)) cause = 'sigkill';
        else if (shutdownAborts.has(`${prev.job}:${prev.attempt}:${prev.pid}`)) cause = 'shutdown hand-back';
        else {
          const d = disruptions.find((x) => x.kind !== 'sigkill' && prev.at <= x.to + windowMs && x.from <= next.at);
          if (d) cause = d.kind;
        }
        out.push({ job, kind: prev.kind, prev, next, cause });
      }
    }
    return out;
  }

  /**
   * The runs a SIGKILL interrupted (the job ran in the killed process, then again after the
   * kill), each with the kill that last took the job away: the one of its process, or, when an
   * attempt was used in between without a run (another process had claimed it into its buffer
   * and was killed before starting it), the last kill before the next run. A designed
   * failure's next run is its retry, not a rescue: left out.
   */
  killReruns(kills: { pid: number; at: number }[]): KillRerun[] {
    const out: KillRerun[] = [];
    for (const [job, runs] of this.runsByJob()) {
      for (let i = 1; i < runs.length; i++) {
        const prev = runs[i - 1]!;
        const next = runs[i]!;
        if (prev.willFail) continue;
        const own = kills.find((k) => k.pid === prev.pid && prev.at <= k.at && k.at <= next.at);
        if (!own) continue;
        const bounced = next.attempt > prev.attempt + 1;
        const last = bounced ? kills.filter((k) => own.at <= k.at && k.at <= next.at).reduce((a, b) => (b.at > a.at ? b : a)) : own;
        out.push({ job, killedAt: last.at, prev, next, bounced, last: i === runs.length - 1 });
      }
    }
    return out;
  }
}

export interface KillRerun {
  job: string;
  /** The kill that last took the job away before `next`. */
  killedAt: number;
  prev: RunLine;
  next: RunLine;
  /** An attempt was used between the two runs without a run. */
  bounced: boolean;
  /** `next` is the job's last run. */
  last: boolean;
}
