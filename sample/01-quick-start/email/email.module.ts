import { Module } from '@nestjs/common';
import { EmailController } from './email.controller.js';
import { EmailProcessor } from './email.processor.js';
import { MailerService } from './mailer.service.js';

@Module({
  controllers: [EmailController],
  providers: [EmailProcessor, MailerService],
})
export class EmailModule {}
