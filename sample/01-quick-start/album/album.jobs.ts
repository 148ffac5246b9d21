import { defineJob, type BatchCallbackPayload } from '../../../lib/index.js';

/** A flow: one `BuildAlbum` parent that waits for a `ResizePhoto` child per photo. */
export const ResizePhoto = defineJob<{ photo: string }>('resize-photo', { queue: 'album' });
export const BuildAlbum = defineJob<{ title: string }>('build-album', { queue: 'album' });

/** A batch's callback: runs once, when every import chunk has finished. */
export const ImportFinished = defineJob<BatchCallbackPayload<{ source: string }>>('import-finished', { queue: 'album' });
export const ImportChunk = defineJob<{ rows: [number, number] }>('import-chunk', { queue: 'album' });
