import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's files, next to this module (`lib/dashboard/static`, one flat folder, copied to `dist/lib/dashboard/static` by the build). */
const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface StaticFile {
  type: string;
  body: Buffer;
}

/**
 * Serves only the files that were in the folder when it was first read (a fixed list, so no
 * request path ever reaches the file system), from memory.
 */
export class StaticFiles {
  private files: Promise<Map<string, StaticFile>> | null = null;

  async get(name: string): Promise<StaticFile | undefined> {
    this.files ??= load();
    return (await this.files).get(name);
  }
}

async function load(): Promise<Map<string, StaticFile>> {
  const out = new Map<string, StaticFile>();
  for (const entry of await readdir(STATIC_DIR, { withFileTypes: true })) {
    const type = TYPES[entry.name.slice(entry.name.lastIndexOf('.'))];
    if (entry.isFile() && type) out.set(entry.name, { type, body: await readFile(join(STATIC_DIR, entry.name)) });
  }
  return out;
}
