import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { JobsHealthModule } from '../../../lib/health/index.js';
import { HealthController } from './health.controller.js';

@Module({
  // The storage gets 2 s to answer before the check reports the jobs down.
  imports: [TerminusModule, JobsHealthModule.forRoot({ timeoutMs: 2_000 })],
  controllers: [HealthController],
})
export class HealthModule {}
