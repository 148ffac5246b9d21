import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Job, JobTimeoutError, Processor, type EngineLogger, type JobContext } from '../lib/index.js';
import { closeAppsAfterEach, queueOf } from './fixtures/app.js';
import { startClockedApp } from './fixtures/clocked-app.js';

@Injectable()
class Probe {
  readonly signals = new Map<string, AbortSignal>();
  readonly done: string[] = [];
  /** Lets a handler that ignores its signal finally settle. */
  readonly settle = new Map<string, () => void>();
}

/** Rejects with the abort reason as soon as the signal fires: a well-behaved handler. */
function untilAborted(probe: Probe, ctx: JobContext): Promise<never> {
  probe.signals.set(ctx.id, ctx.signal);
  return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
}

@Processor({ queue: 'timeouts', maxRetries: 0 })
class TimeoutProcessor {
  constructor(private readonly probe: Probe) {}

  @Job('honours-signal', { timeout: 1000 })
  honours(_payload: unknown, ctx: JobContext) {
    return untilAborted(this.probe, ctx);
  }

  @Job('never-settles', { timeout: 100 })
  neverSettles(_payload: unknown, ctx: JobContext) {
    this.probe.signals.set(ctx.id, ctx.signal);
    // Ignores its signal; settles only when the test says so.
    return new Promise<void>((resolve) => this.probe.settle.set(ctx.id, resolve));
  }

  @Job('quick')
  quick(_payload: unknown, ctx: JobContext) {
    this.probe.done.push(ctx.id);
    return 'ok';
  }
}

@Processor({ queue: 'processor-timeout', timeout: 300, maxRetries: 0 })
class ProcessorTimeout {
  constructor(private readonly probe: Probe) {}

  @Job('inherits-timeout')
  inherits(_payload: unknown, ctx: JobContext) {
    return untilAborted(this.probe, ctx);
  }
}

function recordingLogger(): EngineLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, log: () => undefined, warn: (m) => void warnings.push(m), error: () => undefined };
}

describe('timeouts (FakeClock)', () => {
  closeAppsAfterEach();

  it('abort ctx.signal with a JobTimeoutError at the timeout, not before, and fail the attempt', async () => {
    const t = await startClockedApp([Probe, TimeoutProcessor]);
    const { id } = await queueOf(t.app).enqueue('honours-signal', {});
    await t.log.waitFor('started', id);
    const signal = t.app.get(Probe).signals.get(id)!;

    await t.clock.advance(999);
    expect(signal.aborted).toBe(false);
    await t.clock.advance(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(JobTimeoutError);
    expect((signal.reason as Error).message).toMatch(/timeout of 1000 ms/);

    const failed = await t.log.waitFor('failed', id);
    expect(failed.error).toMatchObject({ name: 'JobTimeoutError', attempt: 1 });
    await t.log.waitFor('dead', id);
    expect((await queueOf(t.app).getJob(id))?.lastError?.name).toBe('JobTimeoutError');
  });

  it("takes the processor's timeout, and an enqueue timeout overrides the job's", async () => {
    const t = await startClockedApp([Probe, TimeoutProcessor, ProcessorTimeout]);
    const inherited = await queueOf(t.app).enqueue('inherits-timeout', {});
    const overridden = await queueOf(t.app).enqueue('honours-signal', {}, { timeout: 50 });
    await t.log.waitFor('started', inherited.id);
    await t.log.waitFor('started', overridden.id);
    const signals = t.app.get(Probe).signals;

    await t.clock.advance(49);
    expect(signals.get(overridden.id)!.aborted).toBe(false);
    await t.clock.advance(1);
    expect(signals.get(overridden.id)!.reason).toBeInstanceOf(JobTimeoutError);

    await t.clock.advance(249);
    expect(signals.get(inherited.id)!.aborted).toBe(false);
    await t.clock.advance(1);
    expect(signals.get(inherited.id)!.reason).toBeInstanceOf(JobTimeoutError);
    await t.log.waitFor('dead', inherited.id);
    await t.log.waitFor('dead', overridden.id);
  });

  it('abandons a handler that never settles after abortGraceMs; the worker runs the next job', async () => {
    const logger = recordingLogger();
    const t = await startClockedApp([Probe, TimeoutProcessor], { queues: { timeouts: { concurrency: 1 } }, abortGraceMs: 200, logger });
    const stuck = await queueOf(t.app).enqueue('never-settles', {});
    const next = await queueOf(t.app).enqueue('quick', {});
    await t.log.waitFor('started', stuck.id);

    await t.clock.advance(100);
    expect(t.app.get(Probe).signals.get(stuck.id)!.reason).toBeInstanceOf(JobTimeoutError);
    await t.clock.advance(199);
    expect(t.log.count('started', next.id)).toBe(0);

    await t.clock.advance(1);
    await t.log.waitFor('completed', next.id);
    expect(t.app.get(Probe).done).toEqual([next.id]);
    expect(logger.warnings.some((w) => w.includes(`Job ${stuck.id}`) && w.includes('ignored its abort signal'))).toBe(true);
    // The abandoned handler may still be running: the job keeps its lease, so no retry runs beside it.
    expect((await queueOf(t.app).getJob(stuck.id))!.state).toBe('running');
    expect(t.log.count('dead', stuck.id)).toBe(0);
    // Once it finally settles, the timed-out attempt is recorded.
    t.app.get(Probe).settle.get(stuck.id)!();
    const dead = await t.log.waitFor('dead', stuck.id);
    expect(dead.error?.name).toBe('JobTimeoutError');
  });
});
