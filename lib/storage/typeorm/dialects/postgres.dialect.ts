import type { Dialect } from '../dialect.js';
import type { TableNames } from '../table-names.js';
import { commonFlows } from './common-flows.js';
import { postgresFold } from './fold-statements.js';
import { postgresRecount } from './recount-statements.js';
import { postgresClaim } from './postgres-claim.js';
import { postgresEnqueue } from './postgres-enqueue.js';
import { postgresLeases } from './postgres-leases.js';
import { postgresOutcomes } from './postgres-outcomes.js';
import { postgresStatements } from './postgres.statements.js';

/**
 * PostgreSQL: every hot path is one statement. Batches travel as typed arrays through
 * `unnest`, so a statement has a dozen bind parameters however many rows it carries (far
 * from the 65,535 limit); chunking only bounds statement size.
 * The statements, by operation: `postgres-enqueue.ts`, `postgres-claim.ts`,
 * `postgres-outcomes.ts`, `postgres-leases.ts`; the others (and the fragments these share)
 * in `postgres.statements.ts`, the fold in `fold-statements.ts` (see the table in `dialect.ts`).
 */
export function postgresDialect(t: TableNames): Dialect {
  return {
    kind: 'postgres',
    tables: t,
    maxRowsPerStatement: 5000,
    ...commonFlows(postgresStatements(t)),
    foldCounters: postgresFold(t),
    recount: postgresRecount(t),
    ...postgresEnqueue(t),
    ...postgresClaim(t),
    ...postgresOutcomes(t),
    ...postgresLeases(t),
  };
}
