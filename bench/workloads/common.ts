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
