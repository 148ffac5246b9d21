import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { Job, JobsModule, Processor, QueueService, type JobContext } from '../lib/index.js';

@Injectable()
class Mailer {
  sent: string[] = [];
}

@Processor('email')
class EmailProcessor {
  constructor(readonly mailer: Mailer) {}

  @Job('send-welcome')
  async sendWelcome(payload: { userId: string }, ctx: JobContext) {
    this.mailer.sent.push(`${payload.userId}@${ctx.attempt}`);
    return { ok: true };
  }
}

describe('smoke', () => {
  it('runs a job through a processor with DI state', async () => {
    const mod = await Test.createTestingModule({
      imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })],
      providers: [EmailProcessor, Mailer],
    }).compile();
    const app = mod.createNestApplication();
    await app.init();
    const queue = app.get(QueueService);
    const { id } = await queue.enqueue('send-welcome', { userId: 'u1' });
    await queue.onIdle();
    expect(app.get(Mailer).sent).toEqual(['u1@1']);
    expect(await queue.getJob(id)).toMatchObject({ state: 'completed', result: { ok: true } });
    await app.close();
  });
});
