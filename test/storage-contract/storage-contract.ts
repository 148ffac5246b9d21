import { afterEach, beforeEach, describe } from 'vitest';
import { adminCases } from './contract-admin.js';
import { claimCases } from './contract-claim.js';
import { batchCases } from './contract-batches.js';
import { enqueueCases } from './contract-enqueue.js';
import { headerCases } from './contract-headers.js';
import { flowCases } from './contract-flows.js';
import { flowRetryCases } from './contract-flow-retry.js';
import { h, useHarness, type ContractHarness } from './contract-harness.js';
import { leaseCases } from './contract-leases.js';
import { limitCases } from './contract-limits.js';
import { oldestAvailableCases } from './contract-oldest.js';
import { outcomeCases } from './contract-outcomes.js';
import { recountCases } from './contract-recount.js';
import { uniqueKeyCases, uniqueWindowCases } from './contract-unique-keys.js';

/**
 * The conformance suite every storage passes (memory, SQLite, PostgreSQL, MariaDB).
 * `factory` returns a fresh, empty, initialised storage. The cases are in `contract-*.ts`,
 * a file per operation.
 */
export function describeStorageContract(name: string, factory: () => Promise<ContractHarness>): void {
  describe(`Storage contract: ${name}`, () => {
    beforeEach(async () => {
      useHarness(await factory());
    });

    afterEach(async () => {
      await h.cleanup();
    });

    enqueueCases();
    headerCases();
    uniqueKeyCases();
    uniqueWindowCases();
    claimCases();
    outcomeCases();
    leaseCases();
    adminCases();
    oldestAvailableCases();
    limitCases();
    flowCases();
    flowRetryCases();
    batchCases();
    recountCases();
  });
}
