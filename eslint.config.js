// ESLint (flat config): type-aware promise rules everywhere, no `any` in lib/, and the layer
// boundaries of ARCHITECTURE.md as import rules. `npm test` runs it between tsc and vitest.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The folders of lib/ that are layers of their own; a relative import that climbs into one of
// them (`../storage/x.js`, `../../nest/y.js`, …) crosses a boundary. The optional modules are
// listed ahead of their arrival so the rules hold for them from their first file.
const layer = (...names) => `^(\\.\\./)+(${names.join('|')})(/|$)`;
const OPTIONAL_MODULES = ['testing', 'metrics', 'otel', 'health', 'dashboard'];

// The database packages that only the TypeORM storage may load (STYLE rule 8).
const ORM_AND_DRIVERS = '^(typeorm|pg|mysql2|better-sqlite3)(/|$)';
const NEST = '^@nestjs/';

// STYLE rule 7, for every file of lib/: a folder's index is a barrel; barrel cycles break DI metadata.
const NO_BARREL = {
  regex: '^\\.\\.?/(.*/)?index(\\.[cm]?[jt]s)?$',
  message: 'Inside lib/, import from the file that owns the symbol, never from a folder index (STYLE rule 7: barrel cycles break DI metadata).',
};

/** Import boundaries of one folder: `no-restricted-imports` for static imports and `export … from`,
 *  and the same patterns for `import('…')` expressions and types, which that rule does not see. */
function boundaries(...rules) {
  const all = [...rules, NO_BARREL].map((r) => ({ caseSensitive: true, ...r }));
  const literal = (regex) => `Literal[value=/${regex.replaceAll('/', '\\/')}/]`;
  return {
    'no-restricted-imports': ['error', { patterns: all }],
    'no-restricted-syntax': [
      'error',
      ...all.flatMap((r) => [
        { selector: `ImportExpression > ${literal(r.regex)}`, message: r.message },
        { selector: `TSImportType ${literal(r.regex)}`, message: r.message },
      ]),
    ],
  };
}

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'bench/results/'] },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['{lib,sample,test,bench}/**/*.ts'],
    plugins: { '@typescript-eslint': tseslint.plugin },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // STYLE rule 14: a promise nobody awaits loses its rejection. `void p` marks fire-and-forget
      // and is allowed only where the rejection is already handled.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async callback where a void one is expected (an EventEmitter listener, setTimeout,
      // forEach …) drops its rejection the same way.
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      // STYLE rule 14: no `any` in lib/ without a comment saying why (an eslint-disable-next-line
      // with a reason after `--`).
      '@typescript-eslint/no-explicit-any': 'error',
      ...boundaries(),
    },
  },
  {
    files: ['lib/core/**/*.ts'],
    rules: boundaries(
      {
        regex: `${NEST}|${ORM_AND_DRIVERS}`,
        message: 'lib/core is framework-free: no @nestjs/*, typeorm or database driver (ARCHITECTURE: layers; STYLE rule 8). Put it in lib/nest or lib/storage.',
      },
      {
        regex: layer('storage', 'nest', ...OPTIONAL_MODULES),
        message: 'lib/core imports no other layer (only ../errors/* and itself); the storage and Nest layers depend on the core, not the reverse (ARCHITECTURE: layers).',
      },
    ),
  },
  {
    files: ['lib/errors/**/*.ts'],
    rules: boundaries(
      {
        regex: `${NEST}|${ORM_AND_DRIVERS}`,
        message: 'lib/errors depends on nothing: no @nestjs/*, typeorm or database driver, so every layer can throw these errors.',
      },
      {
        regex: layer('core', 'storage', 'nest', ...OPTIONAL_MODULES),
        message: 'lib/errors imports no other layer (only its own files); every layer imports the errors, not the reverse.',
      },
    ),
  },
  {
    files: ['lib/storage/**/*.ts'],
    rules: boundaries(
      {
        regex: NEST,
        message: 'lib/storage knows nothing of Nest: no @nestjs/* (ARCHITECTURE: the Nest layer sits above the storage).',
      },
      {
        regex: layer('nest', ...OPTIONAL_MODULES),
        message: 'lib/storage must not import the Nest layer or an optional module; they sit above it (ARCHITECTURE: layers).',
      },
    ),
  },
  {
    files: ['lib/nest/**/*.ts', 'lib/index.ts'],
    rules: boundaries({
      regex: layer(...OPTIONAL_MODULES),
      message: 'The main entry point never loads an optional module (testing, metrics, otel, health, dashboard): each has its own subpath export and its own optional peer dependencies.',
    }),
  },
  // The optional modules use the core through its public seams (QueueService, middleware, events,
  // the storage contract), never the TypeORM storage's internals, nor one another.
  ...OPTIONAL_MODULES.map((name) => ({
    files: [`lib/${name}/**/*.ts`],
    rules: boundaries(
      {
        regex: `${ORM_AND_DRIVERS}|^(\\.\\./)+storage/typeorm/`,
        message: `lib/${name} is an optional module: it reaches the storage through the Storage contract and QueueService, never typeorm, a driver or the TypeORM storage's files.`,
      },
      {
        regex: layer(...OPTIONAL_MODULES.filter((other) => other !== name)),
        message: `lib/${name} is an optional module and imports no other optional module: each loads alone from its own subpath.`,
      },
    ),
  })),
);
