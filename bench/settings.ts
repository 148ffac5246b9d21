import { SYSTEMS } from './systems/index.js';

/** Each system's settings at concurrency 10 and 50, as the adapters apply them. */
export async function describeSettings(systems: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const id of systems) {
    try {
      const a = await SYSTEMS[id]!();
      out[id] = { c10: a.describe(10), c50: a.describe(50) };
    } catch (err) {
      out[id] = { error: (err as Error).message };
    }
  }
  return out;
}
