// Jest runs the sample app's tests, written as a Nest user writes them (@nestjs/testing +
// supertest). Nest 12 ships as ES modules, so Jest runs in its ESM mode (`npm run test:sample`
// starts Node with --experimental-vm-modules); @swc/jest compiles TypeScript to ES modules and
// keeps the decorator metadata that Nest's dependency injection reads.
/** @type {import('jest').Config} */
export default {
  roots: ['<rootDir>/sample'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  // Sources import './x.js' (NodeNext); Jest resolves the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          target: 'es2022',
        },
        module: { type: 'es6' },
      },
    ],
  },
};
