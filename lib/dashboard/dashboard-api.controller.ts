import { Body, Get, HttpCode, Inject, Injectable, NotFoundException, Param, Post, Query, Req, Sse, type MessageEvent } from '@nestjs/common';
import { interval, map, merge, takeUntil, type Observable } from 'rxjs';
import { QueueService } from '../nest/queue.service.js';
import { DashboardActions, type BulkOutcome } from './dashboard-actions.js';
import { bulkBody, emptyBody, jobId, knownQuery, listQuery, pruneBody, queueName } from './dashboard-input.js';
import { JOBS_DASHBOARD_OPTIONS, type ResolvedDashboardOptions } from './dashboard.options.js';
import { whoIs, type DashboardRequest } from './http-shapes.js';
import { jobView, type JobView } from './job-view.js';
import { JobsDashboardEvents } from './jobs-dashboard.events.js';
import { queueSummaries, type QueueSummary } from './queue-summary.js';

/** Keeps proxies from closing an idle event stream. */
const HEARTBEAT_MS = 15_000;

/**
 * The JSON API under `<path>/api`, which the page itself uses. `JobsDashboardModule` mounts a
 * subclass of it at the configured path, behind `DashboardAccessGuard`.
 */
@Injectable()
export class DashboardApiController {
  constructor(
    private readonly queues: QueueService,
    private readonly actions: DashboardActions,
    private readonly audit: JobsDashboardEvents,
    @Inject(JOBS_DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
  ) {}

  @Get('api/config')
  config(@Query() query: Record<string, unknown>): { readOnly: boolean; redactPayloads: boolean } {
    knownQuery(query, []);
    return { readOnly: this.options.readOnly, redactPayloads: this.options.redactPayloads };
  }

  @Get('api/queues')
  async queueList(@Query() query: Record<string, unknown>): Promise<{ queues: QueueSummary[] }> {
    knownQuery(query, []);
    return { queues: queueSummaries(await this.queues.stats()) };
  }

  @Get('api/jobs')
  async jobs(@Query() query: Record<string, unknown>): Promise<{ jobs: JobView[]; nextCursor: string | null }> {
    const page = await this.queues.list(listQuery(query));
    return { jobs: page.jobs.map((j) => jobView(j, this.options.redactPayloads)), nextCursor: page.nextCursor };
  }

  @Get('api/jobs/:id')
  async job(@Param('id') id: string): Promise<JobView> {
    const job = await this.queues.getJob(jobId(id));
    if (!job) throw new NotFoundException(`No job with id '${id}' exists (it may have been pruned).`);
    return jobView(job, this.options.redactPayloads);
  }

  @Post('api/jobs/bulk')
  @HttpCode(200)
  async bulk(@Req() req: DashboardRequest, @Body() body: unknown): Promise<{ results: BulkOutcome[] }> {
    const { action, ids } = bulkBody(body);
    return { results: await this.actions.bulk(whoIs(req), action, ids) };
  }

  @Post('api/jobs/:id/retry')
  @HttpCode(200)
  async retry(@Req() req: DashboardRequest, @Param('id') id: string, @Body() body: unknown): Promise<JobView> {
    emptyBody(body);
    return jobView(await this.actions.retry(whoIs(req), jobId(id)), this.options.redactPayloads);
  }

  @Post('api/jobs/:id/cancel')
  @HttpCode(200)
  async cancel(@Req() req: DashboardRequest, @Param('id') id: string, @Body() body: unknown): Promise<JobView> {
    emptyBody(body);
    return jobView(await this.actions.cancel(whoIs(req), jobId(id)), this.options.redactPayloads);
  }

  @Post('api/jobs/:id/run-now')
  @HttpCode(200)
  async runNow(@Req() req: DashboardRequest, @Param('id') id: string, @Body() body: unknown): Promise<JobView> {
    emptyBody(body);
    return jobView(await this.actions.runNow(whoIs(req), jobId(id)), this.options.redactPayloads);
  }

  @Post('api/queues/:queue/pause')
  @HttpCode(200)
  async pause(@Req() req: DashboardRequest, @Param('queue') queue: string, @Body() body: unknown): Promise<{ queue: string; paused: boolean }> {
    emptyBody(body);
    await this.actions.pause(whoIs(req), queueName(queue));
    return { queue, paused: true };
  }

  @Post('api/queues/:queue/resume')
  @HttpCode(200)
  async resume(@Req() req: DashboardRequest, @Param('queue') queue: string, @Body() body: unknown): Promise<{ queue: string; paused: boolean }> {
    emptyBody(body);
    await this.actions.resume(whoIs(req), queueName(queue));
    return { queue, paused: false };
  }

  @Post('api/queues/:queue/retry-dead')
  @HttpCode(200)
  async retryDead(@Req() req: DashboardRequest, @Param('queue') queue: string, @Body() body: unknown): Promise<{ retried: number }> {
    emptyBody(body);
    return { retried: await this.actions.retryDead(whoIs(req), queueName(queue)) };
  }

  @Post('api/queues/:queue/prune')
  @HttpCode(200)
  async prune(@Req() req: DashboardRequest, @Param('queue') queue: string, @Body() body: unknown): Promise<{ pruned: number }> {
    const olderThan = pruneBody(body);
    return { pruned: await this.actions.prune(whoIs(req), queueName(queue), olderThan) };
  }

  @Get('api/schedules')
  async schedules(@Query() query: Record<string, unknown>): Promise<{ schedules: unknown[] }> {
    knownQuery(query, []);
    return { schedules: await this.queues.schedules() };
  }

  @Get('api/throughput')
  async throughput(@Query() query: Record<string, unknown>): Promise<{ minutes: Array<{ minute: string; completed: number; failed: number }> }> {
    knownQuery(query, ['queue']);
    const queue = query.queue === undefined || query.queue === '' ? undefined : queueName(query.queue);
    const byMinute = new Map<number, { completed: number; failed: number }>();
    for (const r of await this.queues.throughput(queue)) {
      const m = byMinute.get(r.minute) ?? { completed: 0, failed: 0 };
      m.completed += r.completed;
      m.failed += r.died;
      byMinute.set(r.minute, m);
    }
    const minutes = [...byMinute].sort(([a], [b]) => a - b).map(([minute, c]) => ({ minute: new Date(minute).toISOString(), ...c }));
    return { minutes };
  }

  /** Job lifecycle events of this instance and dashboard actions, as server-sent events; the page refetches on each. */
  @Sse('api/events')
  events(): Observable<MessageEvent> {
    const jobs = this.queues.events$.pipe(
      map((e): MessageEvent => ({ type: 'job', data: { type: e.type, jobId: e.jobId, name: e.name, queue: e.queue, at: e.at } })),
    );
    const actions = this.audit.actions$.pipe(
      map((a): MessageEvent => ({ type: 'action', data: { action: a.action, queue: a.queue ?? null, jobIds: a.jobIds ?? [], at: a.at } })),
    );
    const heartbeat = interval(HEARTBEAT_MS).pipe(map((): MessageEvent => ({ type: 'heartbeat', data: {} })));
    return merge(jobs, actions, heartbeat).pipe(takeUntil(this.audit.closing$));
  }
}
