import { EventEmitter } from 'node:events';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PgListener, type ListenerEvent, type PgClientLike } from '../../lib/storage/typeorm/pg-listener.js';

/** A stand-in for a pg Client: connects (or fails), answers queries (or hangs), emits notifications. */
class FakeClient extends EventEmitter implements PgClientLike {
  readonly queries: string[] = [];
  ended = false;
  constructor(readonly processID: number, private readonly behaviour: { failConnect?: boolean; hangProbe?: boolean } = {}) {
    super();
  }
  async connect(): Promise<void> {
    if (this.behaviour.failConnect) throw new Error('connection refused');
  }
  query(text: string): Promise<unknown> {
    this.queries.push(text);
    if (text === 'SELECT 1' && this.behaviour.hangProbe) return new Promise(() => undefined);
    return Promise.resolve({});
  }
  async end(): Promise<void> {
    this.ended = true;
  }
  notify(channel: string, payload: string): void {
    this.emit('notification', { channel, payload });
  }
}

const nextListening = (l: PgListener) =>
  firstValueFrom(l.events.pipe(filter((e: ListenerEvent) => e.type === 'listening'), take(1), timeout(3000)));

describe('PgListener', () => {
  it('LISTENs on its channel and routes payloads: queue names to wakeups, !cancel:<id> to cancellations', async () => {
    const client = new FakeClient(1);
    const l = new PgListener({ createClient: () => client, channel: 'jobs_jobs' });
    const up = nextListening(l);
    const wake = firstValueFrom(l.wakeups.pipe(take(1), timeout(3000)));
    const cancel = firstValueFrom(l.cancellations.pipe(take(1), timeout(3000)));
    l.start();
    await up;
    expect(client.queries).toEqual(['LISTEN "jobs_jobs"']);
    client.notify('other_channel', 'ignored');
    client.notify('jobs_jobs', '!cancel:42');
    client.notify('jobs_jobs', 'mail');
    expect(await wake).toBe('mail');
    expect(await cancel).toBe('42');
    await l.close();
    expect(client.ended).toBe(true);
  });

  it('routes <queue>@<ms> to a wake-up with its delay; a suffix it cannot read wakes the queue now', async () => {
    const client = new FakeClient(1);
    const l = new PgListener({ createClient: () => client, channel: 'c' });
    const up = nextListening(l);
    const woken = firstValueFrom(l.wakeups.pipe(take(4), toArray(), timeout(3000)));
    l.start();
    await up;
    client.notify('c', 'mail@250');
    client.notify('c', 'a.b:c-d_1@0');
    client.notify('c', 'mail@soon');
    client.notify('c', 'mail');
    expect(await woken).toEqual([{ queue: 'mail', inMs: 250 }, { queue: 'a.b:c-d_1', inMs: 0 }, 'mail', 'mail']);
    await l.close();
  });

  it('reconnects with backoff when connecting fails, and when the connection errors', async () => {
    const clients = [new FakeClient(1, { failConnect: true }), new FakeClient(2), new FakeClient(3)];
    let made = 0;
    const l = new PgListener({ createClient: () => clients[made++]!, channel: 'c' });
    const first = nextListening(l);
    l.start();
    expect(await first).toEqual({ type: 'listening', pid: 2 });
    const again = nextListening(l);
    clients[1]!.emit('error', new Error('server closed the connection unexpectedly'));
    expect(await again).toEqual({ type: 'listening', pid: 3 });
    expect(clients[1]!.ended).toBe(true);
    await l.close();
  });

  it('retries when the client cannot even be created, instead of leaving an unhandled rejection', async () => {
    let made = 0;
    const l = new PgListener({
      createClient: () => {
        if (made++ === 0) throw new Error('invalid connection settings');
        return new FakeClient(2);
      },
      channel: 'c',
    });
    const lost = firstValueFrom(l.events.pipe(filter((e) => e.type === 'lost'), take(1), timeout(3000)));
    const up = nextListening(l);
    l.start();
    expect(((await lost) as { error: Error }).error.message).toBe('invalid connection settings');
    expect(await up).toEqual({ type: 'listening', pid: 2 });
    await l.close();
  });

  it('treats a connection that stops answering its health probe as dead (half-open TCP)', async () => {
    const clients = [new FakeClient(1, { hangProbe: true }), new FakeClient(2)];
    let made = 0;
    const l = new PgListener({ createClient: () => clients[made++]!, channel: 'c', healthCheckMs: 20, probeTimeoutMs: 20 });
    const first = nextListening(l);
    l.start();
    await first;
    const lost = firstValueFrom(l.events.pipe(filter((e) => e.type === 'lost'), take(1), timeout(3000)));
    const again = nextListening(l);
    expect(((await lost) as { error: Error }).error.message).toMatch(/did not answer/);
    expect(await again).toEqual({ type: 'listening', pid: 2 });
    await l.close();
  });
});
