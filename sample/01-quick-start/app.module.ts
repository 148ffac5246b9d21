import { Module } from '@nestjs/common';
import { JobsDashboardModule } from '../../lib/dashboard/index.js';
import { JobsModule } from '../../lib/index.js';
import { AlbumModule } from './album/album.module.js';
import { DashboardTokenGuard } from './dashboard/dashboard-token.guard.js';
import { DemoService } from './demo.service.js';
import { EmailModule } from './email/email.module.js';
import { HealthModule } from './health/health.module.js';
import { JobEventsLogger } from './job-events.logger.js';

@Module({
  imports: [
    // No `storage` option: the embedded default, SQLite in ./jobs.sqlite.
    JobsModule.forRoot({
      queues: { email: { concurrency: 4 }, album: { concurrency: 4 } },
      // Look for due jobs (delayed ones, retries) every 250 ms rather than every second: a snappier demo.
      pollIntervalMs: 250,
      shutdownTimeoutMs: 5_000,
    }),
    EmailModule,
    // A flow (photos, then the album built from them) and a batch with a callback.
    AlbumModule,
    // The jobs dashboard at /jobs, for whoever knows JOBS_DASHBOARD_TOKEN (closed without it).
    JobsDashboardModule.forRoot({ guards: [DashboardTokenGuard] }),
    // GET /health: a Terminus health check of the jobs (nestjs-background-jobs/health).
    HealthModule,
  ],
  providers: [JobEventsLogger, DemoService],
})
export class AppModule {}
