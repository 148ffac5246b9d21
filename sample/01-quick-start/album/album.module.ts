import { Module } from '@nestjs/common';
import { AlbumProcessor } from './album.processor.js';

@Module({ providers: [AlbumProcessor] })
export class AlbumModule {}
