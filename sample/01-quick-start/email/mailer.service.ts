import { Injectable, Logger } from '@nestjs/common';

/** A stand-in for an SMTP client or an e-mail API: it only logs. */
@Injectable()
export class MailerService {
  private readonly logger = new Logger(MailerService.name);
  readonly sent: string[] = [];

  async send(to: string, subject: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.sent.push(to);
    this.logger.log(`-> ${to}: "${subject}"`);
  }
}
