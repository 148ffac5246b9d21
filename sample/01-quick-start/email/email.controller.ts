import { Body, Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { QueueService } from '../../../lib/index.js';
import { StandardSchemaPipe } from '../common/standard-schema.pipe.js';
import { SendWelcome, WelcomeEmail } from './email.jobs.js';

@Controller('emails')
export class EmailController {
  constructor(private readonly queue: QueueService) {}

  /** `POST /emails/welcome {"userId":"ada"}` → 202 `{ "id": "…" }`: the e-mail is sent in the background. */
  @Post('welcome')
  @HttpCode(202)
  async welcome(@Body(new StandardSchemaPipe(WelcomeEmail)) body: WelcomeEmail): Promise<{ id: string }> {
    const { id } = await this.queue.enqueue(SendWelcome, body);
    return { id };
  }

  /** `GET /emails/jobs/:id` → the stored job (state, attempts, last error); 404 when no job has that id. */
  @Get('jobs/:id')
  async job(@Param('id') id: string) {
    const job = await this.queue.getJob(id);
    if (!job) throw new NotFoundException(`No job has the id '${id}'.`);
    return job;
  }
}
