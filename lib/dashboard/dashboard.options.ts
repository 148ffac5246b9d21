import type { CanActivate, ModuleMetadata, Type } from '@nestjs/common';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/** `JobsDashboardModule.forRoot()` options. */
export interface JobsDashboardOptions {
  /** Where the dashboard is mounted, under the app's global prefix. Default `'jobs'`. */
  path?: string;
  /**
   * Guards that decide who may open the dashboard; every page and API route runs all of them.
   * Required: without guards every route answers 403.
   */
  guards?: Type<CanActivate>[];
  /** Shows everything, changes nothing: every action answers 403 and the page hides its buttons. */
  readOnly?: boolean;
  /** Payloads, results and progress data are left out of every answer. */
  redactPayloads?: boolean;
}

/** What the factory of `forRootAsync` returns: the options but the path, which routes need up front. */
export type JobsDashboardRuntimeOptions = Omit<JobsDashboardOptions, 'path'>;

export interface JobsDashboardAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Where the dashboard is mounted (routes are registered before any factory runs). Default `'jobs'`. */
  path?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Nest's own factory signature: the injected values are whatever `inject` names.
  useFactory: (...args: any[]) => JobsDashboardRuntimeOptions | Promise<JobsDashboardRuntimeOptions>;
  inject?: Array<string | symbol | Type<unknown>>;
}

/** The options once checked, as the dashboard's providers read them. */
export interface ResolvedDashboardOptions {
  guards: Type<CanActivate>[];
  readOnly: boolean;
  redactPayloads: boolean;
}

export const JOBS_DASHBOARD_OPTIONS = Symbol('JOBS_DASHBOARD_OPTIONS');

export const DEFAULT_DASHBOARD_PATH = 'jobs';

const PATH = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;
const RUNTIME_KEYS = new Set(['guards', 'readOnly', 'redactPayloads']);

/** `'/admin/jobs/'` → `'admin/jobs'`; refuses anything but plain path segments. */
export function normalizePath(path: unknown = DEFAULT_DASHBOARD_PATH): string {
  const trimmed = typeof path === 'string' ? path.replace(/^\/+|\/+$/g, '') : path;
  if (typeof trimmed !== 'string' || !PATH.test(trimmed) || trimmed.split('/').some((s) => s === '.' || s === '..')) {
    throw new InvalidOptionsError('path', `expected URL path segments such as 'jobs' or 'admin/jobs', got ${JSON.stringify(path)}`);
  }
  return trimmed;
}

export function resolveOptions(options: JobsDashboardRuntimeOptions | undefined, where: string): ResolvedDashboardOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError(where, 'expected an object');
  for (const key of Object.keys(options)) {
    if (!RUNTIME_KEYS.has(key)) throw new InvalidOptionsError(where, `unknown option '${key}' (known: path, guards, readOnly, redactPayloads)`);
  }
  const { guards = [], readOnly = false, redactPayloads = false } = options;
  if (!Array.isArray(guards) || guards.some((g) => typeof g !== 'function')) {
    throw new InvalidOptionsError('guards', 'expected an array of guard classes (each implementing CanActivate)');
  }
  if (typeof readOnly !== 'boolean') throw new InvalidOptionsError('readOnly', 'expected true or false');
  if (typeof redactPayloads !== 'boolean') throw new InvalidOptionsError('redactPayloads', 'expected true or false');
  return { guards: [...guards], readOnly, redactPayloads };
}
