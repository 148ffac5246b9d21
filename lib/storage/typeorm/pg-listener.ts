import { Subject, type Observable } from 'rxjs';
import type { Wakeup } from '../../core/storage.js';

/** The part of node-postgres' `Client` the listener uses. */
export interface PgClientLike {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', fn: (msg: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  removeAllListeners(): unknown;
  readonly processID?: number | null;
}

export interface PgListenerOptions {
  /** Makes a new, unconnected client (from the DataSource's connection options). */
  createClient: () => PgClientLike;
  channel: string;
  /** ms between `SELECT 1` probes of the listening connection; default 30 000. */
  healthCheckMs?: number;
  /** A probe slower than this counts as a dead connection; default 5 000. */
  probeTimeoutMs?: number;
}

export type ListenerEvent = { type: 'listening'; pid: number | null } | { type: 'lost'; error: Error };

/** Payload prefix of cancellation requests; queue names cannot contain '!'. */
export const CANCEL_PREFIX = '!cancel:';

/**
 * Separates a queue from the milliseconds until its soonest delayed job falls due, in
 * `<queue>@<ms>` (written by the enqueue statements in `dialects/postgres-enqueue.ts`). Queue
 * names cannot contain '@'; an instance of an earlier version reads the whole payload as a
 * queue name it does not run, and ignores it.
 */
export const DUE_MARK = '@';

/** A whole number of milliseconds, as the enqueue statement writes it. */
const MS = /^\d{1,15}$/;

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;

/**
 * One dedicated connection per storage doing `LISTEN <channel>`. A NOTIFY is only a hint:
 * workers poll anyway. So the listener's whole job is to stay connected: it re-LISTENs
 * after any error or end, with backoff, and probes the connection periodically, since a
 * half-open TCP connection delivers nothing and reports nothing.
 * Payloads: a queue name (new work may be due there), `<queue>@<ms>` (a job delayed there
 * falls due in that many ms) or `!cancel:<job id>`.
 */
export class PgListener {
  private readonly wake$ = new Subject<Wakeup>();
  private readonly cancel$ = new Subject<string>();
  private readonly events$ = new Subject<ListenerEvent>();
  private client: PgClientLike | null = null;
  private started = false;
  private closed = false;
  private backoffMs = BACKOFF_MIN_MS;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private probeTimer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly options: PgListenerOptions) {}

  get wakeups(): Observable<Wakeup> {
    return this.wake$.asObservable();
  }

  get cancellations(): Observable<string> {
    return this.cancel$.asObservable();
  }

  /** 'listening' after each successful LISTEN, 'lost' when the connection fails. */
  get events(): Observable<ListenerEvent> {
    return this.events$.asObservable();
  }

  /** Starts listening (once); returns at once, connecting in the background. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.connect();
    const every = this.options.healthCheckMs ?? 30_000;
    this.probeTimer = setInterval(() => void this.probe(), every);
    this.probeTimer.unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
    this.wake$.complete();
    this.cancel$.complete();
    this.events$.complete();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let client: PgClientLike;
    try {
      client = this.options.createClient();
    } catch (err) {
      // A client that cannot even be made (bad settings, a driver that throws): retry like a failed connect.
      this.events$.next({ type: 'lost', error: err instanceof Error ? err : new Error(String(err)) });
      this.reconnectLater();
      return;
    }
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('the LISTEN connection ended')));
    client.on('notification', (msg) => this.dispatch(msg.channel, msg.payload ?? ''));
    this.client = client;
    try {
      await client.connect();
      // Channel names cannot be bind parameters; ours comes from the allow-listed prefix and schema.
      await client.query(`LISTEN "${this.options.channel}"`);
      if (this.client !== client) return;
      this.backoffMs = BACKOFF_MIN_MS;
      this.events$.next({ type: 'listening', pid: client.processID ?? null });
    } catch (err) {
      this.lost(client, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private dispatch(channel: string, payload: string): void {
    if (channel !== this.options.channel) return;
    if (payload.startsWith(CANCEL_PREFIX)) this.cancel$.next(payload.slice(CANCEL_PREFIX.length));
    else if (payload) this.wake$.next(parseWakeup(payload));
  }

  /** Drops `client` (if it is still the current one) and schedules a reconnect with backoff. */
  private lost(client: PgClientLike, error: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.events$.next({ type: 'lost', error });
    this.reconnectLater();
  }

  /** Connects again after a backoff (doubling, with jitter, up to BACKOFF_MAX_MS). */
  private reconnectLater(): void {
    const delay = this.backoffMs * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref?.();
  }

  private async probe(): Promise<void> {
    const client = this.client;
    if (!client || this.closed) return;
    const timeoutMs = this.options.probeTimeoutMs ?? 5_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        client.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the LISTEN connection did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      this.lost(client, err instanceof Error ? err : new Error(String(err)));
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `<queue>` → the queue name; `<queue>@<ms>` → `{ queue, inMs }`. A suffix that is not a
 * number (a payload of some later version) wakes the queue now: a wake-up is only a hint, and
 * an early look costs one claim.
 */
function parseWakeup(payload: string): Wakeup {
  const at = payload.lastIndexOf(DUE_MARK);
  if (at <= 0) return payload;
  const queue = payload.slice(0, at);
  const ms = payload.slice(at + 1);
  return MS.test(ms) ? { queue, inMs: Number(ms) } : queue;
}
