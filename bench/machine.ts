import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { withPg } from './db.js';

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (err) {
    return `unavailable (${(err as Error).message.split('\n')[0]})`;
  }
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** What the numbers were measured on. */
export async function machineInfo(): Promise<Record<string, string>> {
  let postgres = 'unavailable';
  try {
    postgres = await withPg(async (c) => (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v.split(' on ')[0]!);
  } catch (err) {
    postgres = `unavailable (${(err as Error).message})`;
  }
  const dirty = sh('git', ['status', '--short', '--', 'lib']).split('\n').filter(Boolean).map((l) => l.trim()).join(', ');
  return {
    code: `${sh('git', ['rev-parse', '--short', 'HEAD'])}${dirty ? ` + uncommitted: ${dirty}` : ''}`,
    cpus: `${sh('nproc', [])} (${os.cpus()[0]?.model ?? 'unknown'})`,
    memory: sh('free', ['-h']).split('\n')[1]?.replace(/\s+/g, ' ') ?? '',
    node: process.version,
    postgres,
    mariadb: sh('mysql', ['-h', '127.0.0.1', '-uroot', '-N', '-e', 'SELECT VERSION()']),
    redis: sh('redis-cli', ['-h', '127.0.0.1', 'INFO', 'server']).split('\n').find((l) => l.startsWith('redis_version'))?.trim() ?? 'unavailable',
    'graphile-worker': pkgVersion('graphile-worker'),
    'pg-boss': pkgVersion('pg-boss'),
    bullmq: pkgVersion('bullmq'),
    typeorm: pkgVersion('typeorm'),
    pg: pkgVersion('pg'),
    mysql2: pkgVersion('mysql2'),
    'better-sqlite3': pkgVersion('better-sqlite3'),
  };
}
