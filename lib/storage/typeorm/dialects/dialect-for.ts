import type { Dialect } from '../dialect.js';
import type { DialectKind, TableNames } from '../table-names.js';
import { mysqlDialect } from './mysql.dialect.js';
import { postgresDialect } from './postgres.dialect.js';
import { sqliteDialect } from './sqlite.dialect.js';

export function dialectFor(kind: DialectKind, tables: TableNames): Dialect {
  switch (kind) {
    case 'postgres':
      return postgresDialect(tables);
    case 'mysql':
      return mysqlDialect(tables);
    case 'sqlite':
      return sqliteDialect(tables);
  }
}
