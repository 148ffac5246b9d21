import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
import type { Payload, Producer } from '../systems/types.js';

export const BULK_CHUNK = 1000;

/** A promise with its resolver, and a timeout that rejects it (every wait is bounded). */
export function deferred(timeoutMs: number, what: string): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  timer.unref();
  void promise.then(() => clearTimeout(timer), () => clearTimeout(timer));
  return { promise, resolve };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function payloads(from: number, count: number): Payload[] {
  return Array.from({ length: count }, (_, k) => ({ i: from + k }));
}

/** Enqueues `count` jobs through the bulk API in chunks. */
export async function bulkSeed(producer: Producer, count: number, chunk = BULK_CHUNK): Promise<void> {
  for (let done = 0; done < count; done += chunk) {
    await producer.enqueueBulk(payloads(done, Math.min(chunk, count - done)));
  }
}

/** Peak resident set of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * CPU time (ms) used so far by every process whose command is `name` (e.g. the PostgreSQL
 * server's backends), from /proc; null where there is no /proc. Backends that exit between two
 * readings drop out, so a reading brackets work done on long-lived connections.
 */
export function processCpuMs(name: string): number | null {
  try {
    const { readdirSync, readFileSync } = require('node:fs') as typeof import('node:fs');
    const hz = 100;
    let ticks = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== name) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    }
    return (ticks / hz) * 1000;
  } catch {
    return null;
  }
}
