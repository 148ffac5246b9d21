import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster that the suite creates, owns, stops, starts and removes: `initdb` and
 * `pg_ctl` into a temporary folder, on a free port from 5400–5499, never the shared server on
 * 5432. Run as the `postgres` OS user when the suite runs as root (PostgreSQL refuses root).
 * Binaries: CHAOS_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin.
 */
export class OwnPostgres {
  private running = false;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Where the binaries are, or null. */
  static binaries(): string | null {
    const fromEnv = process.env.CHAOS_PG_BIN;
    if (fromEnv) return existsSync(join(fromEnv, 'pg_ctl')) ? fromEnv : null;
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) return null;
    const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
    return versions.length ? join(root, versions[0]!, 'bin') : null;
  }

  /** initdb + start. The caller must `destroy()` it (afterAll), whatever happens. */
  static async create(bin: string): Promise<OwnPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'nbj-chaos-pg-'));
    const cluster = new OwnPostgres(dir, await freePort(), bin);
    try {
      if (asRoot()) {
        const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'postgres'], { encoding: 'utf8' }).trim()));
        chownSync(dir, uid!, gid!);
      }
      await cluster.exec('initdb', ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
      await cluster.start();
      return cluster;
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /**
   * Starts and waits until it accepts connections. fsync=off: only an OS crash could lose what
   * PostgreSQL wrote, and the suite stops PostgreSQL, never the OS; it spares the shared disk.
   */
  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
    await this.exec('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start']);
    this.running = true;
  }

  /** `fast`: clients are disconnected, a clean shutdown; `immediate`: like a crash (recovery at the next start). */
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  /** Stops it if it runs, and removes its folder. Never throws. */
  async destroy(): Promise<void> {
    if (this.running || existsSync(join(this.data, 'postmaster.pid'))) {
      try {
        await this.exec('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
      } catch (err) {
        console.error(`could not stop the chaos PostgreSQL in ${this.dir}: ${(err as Error).message}`);
      }
      this.running = false;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs a PostgreSQL tool (as the postgres user when we are root); its stderr is in the error. */
  private async exec(tool: string, args: string[]): Promise<void> {
    const path = join(this.bin, tool);
    const [cmd, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    await run(cmd, argv, { timeout: 90_000 });
  }
}

const run = promisify(execFile);
const asRoot = () => process.getuid?.() === 0;

/** A port in 5400–5499 (not 5432) that nothing listens on, starting from a random one. */
async function freePort(): Promise<number> {
  const start = Math.floor(Math.random() * 100);
  for (let i = 0; i < 100; i++) {
    const port = 5400 + ((start + i) % 100);
    if (port === 5432) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 5400-5499 for the chaos PostgreSQL cluster');
}
