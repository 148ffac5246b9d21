import type { Dialect } from '../dialect.js';
import { sql, type Sql } from '../flow.js';
import type { CommonStatements } from './common-flows.js';
import { JOB_COLUMNS as MYSQL_COLUMNS, mysqlStatements, NOW as MYSQL_NOW } from './mysql.statements.js';
import { jobColumns, NOW as PG_NOW, postgresStatements } from './postgres.statements.js';
import { JOB_COLUMNS as SQLITE_COLUMNS, NOW as SQLITE_NOW, sqliteStatements } from './sqlite.statements.js';

export const FINISHED = `('completed', 'dead', 'cancelled')`;
export const PENDING = `('scheduled', 'available', 'retryable')`;
/** Ids per statement of the flow and batch bookkeeping. */
export const MAX_IDS = 500;

/**
 * What the flow and batch statements (`flow-links.ts`, `batch-links.ts`) need of a database:
 * they are portable SQL written with `?` placeholders; the clock, the placeholders' style,
 * row locks, booleans and the columns of a job are chosen here by the dialect's kind.
 */
export function linkSql(dialect: Dialect) {
  const { kind, tables: t } = dialect;
  const common: CommonStatements = kind === 'postgres' ? postgresStatements(t) : kind === 'mysql' ? mysqlStatements(t) : sqliteStatements(t);
  const now = kind === 'postgres' ? PG_NOW : kind === 'mysql' ? MYSQL_NOW : SQLITE_NOW;
  /** `?` placeholders, numbered for PostgreSQL (no statement here has a `?` anywhere else). */
  const q = (text: string, params: unknown[] = []): Sql => {
    let n = 0;
    return sql(kind === 'postgres' ? text.replace(/\?/g, () => `$${++n}`) : text, params);
  };
  const id = (v: string): unknown => (kind === 'sqlite' ? Number(v) : v);
  return {
    t,
    common,
    now,
    lock: kind === 'sqlite' ? '' : ' FOR UPDATE',
    yes: kind === 'postgres' ? 'true' : '1',
    runAt: kind === 'mysql' ? 'CAST(run_at AS CHAR) AS run_at' : 'run_at',
    later: kind === 'sqlite' ? `max(run_at, ${now})` : `GREATEST(run_at, ${now})`,
    columns: kind === 'postgres' ? jobColumns() : kind === 'mysql' ? MYSQL_COLUMNS : SQLITE_COLUMNS,
    errorParam: kind === 'postgres' ? '?::json' : '?',
    q,
    id,
    ids: (list: string[]) => list.map(id),
    marks: (n: number) => new Array<string>(n).fill('?').join(', '),
    sortIds: (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0),
  };
}

export type LinkSql = ReturnType<typeof linkSql>;
