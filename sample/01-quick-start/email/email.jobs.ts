import { z } from 'zod';
import { defineJob } from '../../../lib/index.js';

/** The payload of a welcome e-mail; also validates `POST /emails/welcome`. */
export const WelcomeEmail = z.object({ userId: z.string().trim().min(1).max(64) });
export type WelcomeEmail = z.infer<typeof WelcomeEmail>;

/** Typed job tokens: `enqueue(SendWelcome, payload)` checks the payload (and its schema at run time). */
export const SendWelcome = defineJob<WelcomeEmail>('send-welcome', { schema: WelcomeEmail });
export const SendDigest = defineJob<{ week: string }>('send-digest');
export const SyncNewsletter = defineJob<{ listId: string }>('sync-newsletter');
