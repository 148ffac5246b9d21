import { Backoff, Job, MaxRetries, Processor, type JobContext } from '../../../lib/index.js';
import { SendDigest, SendWelcome, SyncNewsletter, type WelcomeEmail } from './email.jobs.js';
import { MailerService } from './mailer.service.js';

/**
 * The handlers of the 'email' queue. A processor is an ordinary provider: its constructor
 * gets its dependencies from Nest. Retries and backoff set here apply to every job below
 * unless a @Job overrides them.
 */
@Processor({ queue: 'email', maxRetries: MaxRetries.count(3), backoff: Backoff.exponential(2, { initialMs: 100 }) })
export class EmailProcessor {
  constructor(private readonly mailer: MailerService) {}

  @Job(SendWelcome, { timeout: 30_000 })
  async sendWelcome(payload: WelcomeEmail, ctx: JobContext): Promise<{ to: string }> {
    const to = `${payload.userId}@example.com`;
    await this.mailer.send(to, 'Welcome aboard!', ctx.signal);
    return { to };
  }

  /** Fails on its first attempt (a flaky SMTP connection), then succeeds on the retry. */
  @Job(SendDigest, { backoff: Backoff.fixed(300) })
  async sendDigest(payload: { week: string }, ctx: JobContext): Promise<void> {
    if (ctx.attempt === 1) throw new Error('SMTP connection reset (simulated, first attempt only)');
    await this.mailer.send('everyone@example.com', `Your digest for ${payload.week}`, ctx.signal);
  }

  /** Always fails: after its retries it ends `dead`, keeping the last error for inspection. */
  @Job(SyncNewsletter, { maxRetries: 2, backoff: Backoff.fixed(200) })
  async syncNewsletter(payload: { listId: string }): Promise<void> {
    throw new Error(`Newsletter API answered 503 for list ${payload.listId} (simulated, always)`);
  }
}
