import { Logger } from '@nestjs/common';
import { Job, Processor, type BatchCallbackPayload, type JobContext } from '../../../lib/index.js';
import { BuildAlbum, ImportChunk, ImportFinished, ResizePhoto } from './album.jobs.js';

/** The 'album' queue: a flow (photos, then the album) and a batch (import chunks, then a report). */
@Processor('album')
export class AlbumProcessor {
  private readonly logger = new Logger('Album');

  @Job(ResizePhoto)
  async resize(payload: { photo: string }): Promise<{ thumbnail: string }> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { thumbnail: `${payload.photo}.thumb.jpg` };
  }

  /** Runs once every photo has been resized; reads their results with `ctx.children()`. */
  @Job(BuildAlbum)
  async build(payload: { title: string }, ctx: JobContext): Promise<{ pages: number }> {
    const photos = await ctx.children();
    const thumbnails = photos.filter((p) => p.state === 'completed').map((p) => (p.result as { thumbnail: string }).thumbnail);
    this.logger.log(`Album '${payload.title}' built from ${thumbnails.length} photos: ${thumbnails.join(', ')}`);
    return { pages: thumbnails.length };
  }

  @Job(ImportChunk)
  async importChunk(payload: { rows: [number, number] }): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 10 + (payload.rows[0] % 30)));
  }

  /** The batch's `onComplete`: enqueued exactly once, with the batch's counts. */
  @Job(ImportFinished)
  importFinished(payload: BatchCallbackPayload<{ source: string }>): void {
    const { counts } = payload;
    this.logger.log(`Import from ${payload.payload.source} finished (batch #${payload.batchId}): ${counts.completed} of ${counts.total} chunks completed, ${counts.dead} dead.`);
  }
}
