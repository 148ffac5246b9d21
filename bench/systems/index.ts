import type { SystemAdapter } from './types.js';

export type Adapter = SystemAdapter & { cleanup?(): Promise<void> };

/**
 * Every system the harness knows, by id. Each adapter (and so each library) is imported only
 * in the child that runs it, so one system's modules never count in another's memory.
 */
export const SYSTEMS: Record<string, () => Promise<Adapter>> = {
  'ours-memory': async () => new (await import('./ours.js')).OursAdapter('memory'),
  'ours-pg': async () => new (await import('./ours.js')).OursAdapter('postgres'),
  'ours-sqlite': async () => new (await import('./ours.js')).OursAdapter('sqlite'),
  'ours-mariadb': async () => new (await import('./ours.js')).OursAdapter('mariadb'),
  // The same with the module's defaults (no prefetch, default poll), beside the tuned rows above.
  'ours-pg-defaults': async () => new (await import('./ours.js')).OursAdapter('postgres', false),
  'ours-sqlite-defaults': async () => new (await import('./ours.js')).OursAdapter('sqlite', false),
  'ours-mariadb-defaults': async () => new (await import('./ours.js')).OursAdapter('mariadb', false),
  'graphile-worker': async () => new (await import('./graphile.js')).GraphileAdapter(),
  'pg-boss': async () => new (await import('./pgboss.js')).PgBossAdapter(),
  'bullmq-redis': async () => new (await import('./bullmq.js')).BullMqAdapter('redis'),
  'bullmq-pg': async () => new (await import('./bullmq.js')).BullMqAdapter('postgres'),
};

export const SYSTEM_IDS = Object.keys(SYSTEMS);
