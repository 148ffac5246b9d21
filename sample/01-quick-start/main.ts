import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { DemoService } from './demo.service.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // SIGINT / SIGTERM → app.close(): workers stop claiming, running jobs finish (or are
  // handed back after shutdownTimeoutMs), then the storage closes.
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000));

  const logger = new Logger('Main');
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  logger.log(`Listening on ${url}. Try: curl -X POST ${url}/emails/welcome -H 'content-type: application/json' -d '{"userId":"ada"}' (health: ${url}/health)`);
  logger.log(
    process.env.JOBS_DASHBOARD_TOKEN
      ? `Jobs dashboard: ${url}/jobs (any user name; the password is JOBS_DASHBOARD_TOKEN).`
      : 'Jobs dashboard: closed; start with JOBS_DASHBOARD_TOKEN=<a secret> to open it at /jobs.',
  );

  if (process.env.DEMO_EXIT_AFTER_IDLE === '1') {
    await app.get(DemoService).finished();
    logger.log('DEMO_EXIT_AFTER_IDLE=1: the demo is done; shutting down.');
    await app.close();
  }
}

bootstrap().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
