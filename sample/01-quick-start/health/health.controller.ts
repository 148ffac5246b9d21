import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { JobsHealthIndicator } from '../../../lib/health/index.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly jobs: JobsHealthIndicator,
  ) {}

  /**
   * 200 while the job storage answers, the workers run and no email waits longer than a minute
   * past its due time; 503 with the reason otherwise. Details: the workers' state, per-queue counts.
   */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.jobs.isHealthy('jobs', { maxOldestAgeMs: 60_000 })]);
  }
}
