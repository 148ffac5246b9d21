import { readFileSync } from 'node:fs';

/** Busy share of all CPUs over `ms` (from /proc/stat), 0..1; null where there is no /proc. */
export async function cpuBusy(ms = 500): Promise<number | null> {
  const read = () => {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.reduce((s, x) => s + x, 0);
    return { idle, total };
  };
  try {
    const a = read();
    await new Promise((r) => setTimeout(r, ms));
    const b = read();
    const total = b.total - a.total;
    return total > 0 ? 1 - (b.idle - a.idle) / total : null;
  } catch {
    return null;
  }
}

/**
 * Others share this machine (test suites of other engineers): before a measured step, wait
 * (at most `maxWaitMs`) until the CPUs are mostly idle. Returns the busy share seen last, so
 * each sample records how quiet its machine was.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.25, sampleMs = 500): Promise<number | null> {
  const until = Date.now() + maxWaitMs;
  let busy = await cpuBusy(sampleMs);
  while (busy !== null && busy > threshold && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 1000));
    busy = await cpuBusy(sampleMs);
  }
  return busy;
}
