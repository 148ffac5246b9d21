/** Where the services live (127.0.0.1 only) and what each system's namespace is. */
export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' } as const;
export const PG_URL = `postgres://${PG.user}@${PG.host}:${PG.port}/${PG.database}`;
export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'bench_ours' } as const;
export const REDIS = { host: '127.0.0.1', port: 6379, db: 7 } as const;

/** One PostgreSQL schema per system, dropped and recreated before each run. */
export const SCHEMAS = {
  ours: 'bench_ours',
  graphile: 'bench_graphile',
  pgboss: 'bench_pgboss',
  bullmq: 'bench_bullmq',
  ceiling: 'bench_ceiling',
} as const;

export const QUEUE = 'bench';
export const JOB_NAME = 'noop';
/** Scratch files (SQLite database, cpu profiles); gitignored. */
export const TMP_DIR = '.bench-tmp';
