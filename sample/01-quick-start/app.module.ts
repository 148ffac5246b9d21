import { Module } from '@nestjs/common';
import { JobsModule } from '../../lib/index.js';
import { DemoService } from './demo.service.js';
import { EmailModule } from './email/email.module.js';
import { JobEventsLogger } from './job-events.logger.js';

@Module({
  imports: [
    JobsModule.forRoot({
      // Until the embedded SQLite storage lands; then no `storage` option (SQLite in ./jobs.sqlite).
      storage: { type: 'memory' },
      queues: { email: { concurrency: 4 } },
      shutdownTimeoutMs: 5_000,
    }),
    EmailModule,
  ],
  providers: [JobEventsLogger, DemoService],
})
export class AppModule {}
