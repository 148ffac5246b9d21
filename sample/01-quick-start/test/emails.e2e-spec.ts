import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { JobsModule } from '../../../lib/index.js';
import { JobsTester, JobsTestingModule } from '../../../lib/testing/index.js';
import { AppModule } from '../app.module.js';
import { SendWelcome } from '../email/email.jobs.js';
import { MailerService } from '../email/mailer.service.js';

// The whole app, its HTTP API included, with the jobs machinery swapped for the testing module:
// jobs are kept in memory and run only when the test drains them.
describe('POST /emails/welcome (e2e)', () => {
  let app: INestApplication;
  let jobs: JobsTester;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideModule(JobsModule)
      .useModule(JobsTestingModule.forRoot())
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    jobs = moduleRef.get(JobsTester);
    // The demo jobs that the app enqueues at start-up are not this test's business.
    await jobs.clear();
  });

  afterEach(async () => {
    await app.close();
  });

  it('enqueues a welcome e-mail, which is sent once the queue is drained', async () => {
    const res = await request(app.getHttpServer()).post('/emails/welcome').send({ userId: 'ada' }).expect(202);

    await jobs.expectEnqueued(SendWelcome, { userId: 'ada' });
    const mailer = app.get(MailerService);
    expect(mailer.sent).toEqual([]);

    expect(await jobs.drain({ queue: 'email' })).toEqual({ completed: 1, retried: 0, dead: 0, cancelled: 0 });
    expect(mailer.sent).toEqual(['ada@example.com']);
    const job = await request(app.getHttpServer()).get(`/emails/jobs/${res.body.id}`).expect(200);
    expect(job.body).toMatchObject({ state: 'completed', result: { to: 'ada@example.com' } });
  });

  it('refuses an invalid body and enqueues nothing', async () => {
    await request(app.getHttpServer()).post('/emails/welcome').send({ userId: '' }).expect(400);
    await jobs.expectNotEnqueued(SendWelcome);
  });
});
