export { JobsModule } from './nest/jobs.module.js';
export { QueueService } from './nest/queue.service.js';
export { JOBS_MODULE_OPTIONS } from './nest/jobs.module-definition.js';
export { Processor } from './nest/decorators/processor.decorator.js';
export type { ProcessorOptions } from './nest/decorators/processor.decorator.js';
export { Job } from './nest/decorators/job.decorator.js';
export { GlobalJobMiddleware } from './nest/decorators/global-job-middleware.decorator.js';
export type { JobMiddleware, EnqueueingJob } from './core/middleware.js';
export type { JobHeaders } from './core/headers.js';
export type { JobOptions } from './core/handler-options.js';
export { defineJob } from './core/job-token.js';
export type { JobToken, DefineJobOptions } from './core/job-token.js';
export { MaxRetries, Backoff } from './core/retry-policy.js';
export type { ExponentialOptions, MaxRetriesInput, BackoffInput } from './core/retry-policy.js';
export type { JobContext } from './core/job-context.js';
export type { JobEvent, JobEventType } from './core/job-events.js';
export type { JobRecord, JobState, JobErrorInfo, EnqueueResult, NewJob, BackoffSpec } from './core/job-record.js';
export type { EnqueueOptions, BulkJob } from './core/enqueue-options.js';
export type { QueueOptions, EngineLogger } from './core/engine-options.js';
export type { QueueLimits, RateLimit } from './core/limits.js';
export type { SlotRequest, SlotGrant } from './core/slots.js';
export type {
  Storage,
  QueueStats,
  OldestAvailable,
  PeriodCounts,
  ListFilter,
  ListPage,
  PruneOptions,
  CompleteItem,
  FailItem,
  ReleaseOptions,
  HeartbeatResult,
  Wakeup,
  ThroughputMinute,
} from './core/storage.js';
export type { WorkerStatus } from './core/worker-status.js';
export type { Clock } from './core/clock.js';
export type { EveryOptions, ScheduleInfo } from './core/scheduler.js';
export type { ScheduleInput, ScheduleSpec } from './core/schedule-spec.js';
export type { MissedTicks } from './core/handler-registry.js';
export type { UniqueWhile, OnChildFailure, FlowIds, FlowTree, ChildOutcome } from './core/job-record.js';
export type { FlowNode } from './core/flow-builder.js';
export type { BatchOptions } from './core/batch-builder.js';
export type { BatchInfo, BatchResult, BatchCounts, BatchCallbackPayload } from './core/job-record.js';
export { MAX_FLOW_DEPTH, MAX_FLOW_NODES } from './core/flow-builder.js';
export { FakeClock } from './core/fake-clock.js';
export { MemoryStorage } from './storage/memory/memory.storage.js';
export type { JobsModuleOptions } from './nest/interfaces/jobs-module-options.interface.js';
export type {
  StorageConfig,
  MemoryStorageConfig,
  SqliteStorageConfig,
  ServerStorageConfig,
  DataSourceStorageConfig,
  CustomStorageConfig,
} from './storage/storage-options.js';
export { JobsError } from './errors/jobs.error.js';
export { UnknownJobError } from './errors/unknown-job.error.js';
export { InvalidPayloadError } from './errors/invalid-payload.error.js';
export type { PayloadIssue } from './errors/invalid-payload.error.js';
export { PayloadTooLargeError } from './errors/payload-too-large.error.js';
export { InvalidNameError } from './errors/invalid-name.error.js';
export { InvalidOptionsError } from './errors/invalid-options.error.js';
export { StorageUnavailableError } from './errors/storage-unavailable.error.js';
export { JobTimeoutError } from './errors/job-timeout.error.js';
export { JobCancelledError } from './errors/job-cancelled.error.js';
export { RateLimitedError } from './errors/rate-limited.error.js';
export { JobInterruptedError } from './errors/job-interrupted.error.js';
export { JobNotFoundError } from './errors/job-not-found.error.js';
export { JobFailedError } from './errors/job-failed.error.js';
export { WaitTimeoutError } from './errors/wait-timeout.error.js';
export { DuplicateHandlerError } from './errors/duplicate-handler.error.js';
export { ProcessorDefinitionError } from './errors/processor-definition.error.js';
export { JobMiddlewareError } from './errors/job-middleware.error.js';
