import 'reflect-metadata';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { JobsExplorer } from '../lib/nest/jobs.explorer.js';
import { EmailProcessor, Mailer, ReceiptProcessor } from './fixtures/email.fixture.js';

// Nest's DI reads constructor types from `design:paramtypes`. esbuild (Vitest's default) drops
// it; the SWC transform in vitest.config.ts must keep it, or every injection silently breaks.
describe('decorator metadata under the SWC transform', () => {
  it('is emitted for a test class decorated with @Processor and @Injectable', () => {
    expect(Reflect.getMetadata('design:paramtypes', EmailProcessor)).toEqual([Mailer]);
  });

  it('is emitted for a class that carries only @Processor (no @Injectable)', () => {
    expect(Reflect.getMetadata('design:paramtypes', ReceiptProcessor)).toEqual([Mailer]);
  });

  it('is emitted for the library classes (compiled by the same transform)', () => {
    const types = Reflect.getMetadata('design:paramtypes', JobsExplorer) as unknown[];
    expect(types.slice(0, 2)).toEqual([DiscoveryService, MetadataScanner]);
  });

  it('is absent on an undecorated class, so the checks above can fail', () => {
    class Plain {
      constructor(readonly mailer: Mailer) {}
    }
    expect(Reflect.getMetadata('design:paramtypes', Plain)).toBeUndefined();
  });
});
