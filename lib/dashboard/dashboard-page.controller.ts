import { Get, Injectable, NotFoundException, Param, Req, StreamableFile } from '@nestjs/common';
import type { DashboardRequest } from './http-shapes.js';
import { StaticFiles } from './static-files.js';

const files = new StaticFiles();

const escapeAttr = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The page: `index.html` at the dashboard's path, its modules and styles under `static/`.
 * `JobsDashboardModule` mounts a subclass of it at the configured path.
 */
@Injectable()
export class DashboardPageController {
  @Get()
  async index(@Req() req: DashboardRequest): Promise<StreamableFile> {
    const file = await files.get('index.html');
    if (!file) throw new NotFoundException('The dashboard page is missing from the package (static/index.html).');
    // Links in the page are relative to the dashboard's own path, wherever the app mounts it.
    const path = (req.originalUrl ?? req.url).split('?')[0]!.replace(/\/+$/, '');
    return new StreamableFile(Buffer.from(file.body.toString('utf8').replace('__BASE__', escapeAttr(`${path}/`))), { type: file.type });
  }

  @Get('static/:file')
  async asset(@Param('file') name: string): Promise<StreamableFile> {
    const file = name === 'index.html' ? undefined : await files.get(name);
    if (!file) throw new NotFoundException(`No dashboard file '${name}'.`);
    return new StreamableFile(file.body, { type: file.type });
  }
}
