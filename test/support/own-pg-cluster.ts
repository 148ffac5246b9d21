import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throw-away PostgreSQL cluster that one test owns (initdb + pg_ctl into a temporary
 * directory, its own port and socket directory), so the test can stop and start it. Never the
 * shared server: every pg_ctl call names this cluster's data directory.
 */
export class OwnPgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly asPostgres: boolean,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /**
   * Why no cluster can be made here (no initdb/pg_ctl on the PATH; root without a `postgres`
   * user to run them as), or null.
   */
  static async unavailable(): Promise<string | null> {
    for (const bin of ['initdb', 'pg_ctl']) {
      if (!(await run('sh', ['-c', `command -v ${bin}`]).then(() => true, () => false))) return `${bin} is not on the PATH`;
    }
    if (process.getuid?.() === 0 && !(await run('id', ['-u', 'postgres']).then(() => true, () => false))) {
      return "running as root and there is no 'postgres' user to run initdb as";
    }
    return null;
  }

  static async create(): Promise<OwnPgCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'jobs-test-pg-'));
    const asPostgres = process.getuid?.() === 0;
    if (asPostgres) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      await chown(dir, uid, gid);
    }
    const cluster = new OwnPgCluster(dir, await freePort(), asPostgres);
    try {
      await cluster.pg('initdb', ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
      await cluster.start();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    await this.pg('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'log'), '-o', options, '-w', 'start']);
  }

  /** Begins a smart shutdown and returns at once: new connections are refused while sessions remain. */
  async beginSmartShutdown(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, '-m', 'smart', '-W', 'stop']);
  }

  /** Stops the server at once, as a crash would (no checkpoint, sessions cut), and waits until it is gone. */
  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  /** Whether the server process is gone. */
  async stopped(): Promise<boolean> {
    return this.pg('pg_ctl', ['-D', this.data, 'status']).then(() => false, () => true);
  }

  /** Stops the cluster at once (if it runs) and deletes its directory. */
  async destroy(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async pg(bin: string, args: string[]): Promise<void> {
    if (this.asPostgres) await run('runuser', ['-u', 'postgres', '--', bin, ...args], { cwd: this.dir });
    else await run(bin, args, { cwd: this.dir });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
