import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { JobsTester, JobsTestingModule } from '../../../lib/testing/index.js';
import { SendDigest, SendWelcome } from './email.jobs.js';
import { EmailProcessor } from './email.processor.js';
import { MailerService } from './mailer.service.js';

// A unit test of the processor: its handlers run directly, with their real dependencies
// (here a stand-in mailer) and a real job context; nothing is stored.
describe('EmailProcessor', () => {
  let moduleRef: TestingModule;
  let jobs: JobsTester;
  const sent: Array<{ to: string; subject: string }> = [];

  beforeEach(async () => {
    sent.length = 0;
    moduleRef = await Test.createTestingModule({
      imports: [JobsTestingModule.forRoot()],
      providers: [
        EmailProcessor,
        { provide: MailerService, useValue: { send: async (to: string, subject: string) => void sent.push({ to, subject }) } },
      ],
    }).compile();
    await moduleRef.init();
    jobs = moduleRef.get(JobsTester);
  });

  afterEach(async () => {
    await moduleRef.close();
  });

  it('sends the welcome e-mail to the user', async () => {
    await expect(jobs.perform(SendWelcome, { userId: ' ada ' })).resolves.toEqual({ to: 'ada@example.com' });
    expect(sent).toEqual([{ to: 'ada@example.com', subject: 'Welcome aboard!' }]);
  });

  it('fails the digest on its first attempt and sends it on the retry', async () => {
    await expect(jobs.perform(SendDigest, { week: '2026-W01' })).rejects.toThrow(/SMTP connection reset/);
    await expect(jobs.perform(SendDigest, { week: '2026-W01' }, { attempt: 2 })).resolves.toBeUndefined();
    expect(sent).toEqual([{ to: 'everyone@example.com', subject: 'Your digest for 2026-W01' }]);
  });
});
