import { Controller, Get, Injectable, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { JobsModule, type JobsModuleOptions } from '../../lib/index.js';
import { JobsHealthIndicator, JobsHealthModule, type JobsHealthCheckOptions, type JobsHealthModuleOptions } from '../../lib/health/index.js';

/** The thresholds the endpoint passes to `isHealthy` (a test changes them between requests). */
@Injectable()
export class HealthThresholds {
  options: JobsHealthCheckOptions = {};
}

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly jobs: JobsHealthIndicator,
    private readonly thresholds: HealthThresholds,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.jobs.isHealthy('jobs', this.thresholds.options)]);
  }
}

function healthAppModule(jobs: JobsModuleOptions, health: JobsHealthModuleOptions | null, providers: unknown[]): DynamicModule {
  @Module({})
  class HealthApp {}
  return {
    module: HealthApp,
    imports: [JobsModule.forRoot({ logger: false, ...jobs }), TerminusModule.forRoot({ logger: false }), health ? JobsHealthModule.forRoot(health) : JobsHealthModule],
    controllers: [HealthController],
    providers: [HealthThresholds, ...(providers as [])],
  };
}

export interface HealthApp {
  app: INestApplication;
  url: string;
  /** GET /health: the HTTP status and the JSON body. */
  get(): Promise<{ status: number; body: HealthBody }>;
}

export interface HealthBody {
  status: 'ok' | 'error';
  info?: Record<string, Record<string, unknown>>;
  error?: Record<string, Record<string, unknown>>;
  details: Record<string, Record<string, unknown>>;
}

/** A real HTTP server (Express) serving Terminus's /health with the jobs indicator, on a free port. */
export async function startHealthApp(jobs: JobsModuleOptions, health: JobsHealthModuleOptions | null = null, providers: unknown[] = []): Promise<HealthApp> {
  const moduleRef = await Test.createTestingModule({ imports: [healthAppModule(jobs, health, providers)] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    url,
    async get() {
      const res = await fetch(`${url}/health`);
      return { status: res.status, body: (await res.json()) as HealthBody };
    },
  };
}
