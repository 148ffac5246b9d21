import { register, type Registry } from 'prom-client';
import { assertKnownKeys, knownKeys } from '../core/known-keys.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/** `JobsMetricsModule.forRoot()` options. */
export interface JobsMetricsOptions {
  /** The prom-client registry to register the metrics in. Default: prom-client's global `register`. */
  registry?: Registry;
  /**
   * Replaces `jobs_` at the start of every metric name (`myapp_jobs_` gives
   * `myapp_jobs_enqueued_total`): a Prometheus metric name prefix, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
   * Default `jobs_`.
   */
  prefix?: string;
}

export interface ResolvedMetricsOptions {
  registry: Registry;
  prefix: string;
}

const KEYS = knownKeys<JobsMetricsOptions>({ registry: true, prefix: true });

/** Prometheus's metric name syntax (https://prometheus.io/docs/concepts/data_model/). */
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Every problem names the option; a registry is recognised by its methods, so a second copy of prom-client in the app still works. */
export function resolveMetricsOptions(options: JobsMetricsOptions = {}): ResolvedMetricsOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('JobsMetricsModule options', 'expected an object');
  assertKnownKeys(options, KEYS, 'JobsMetricsModule options');
  const { registry = register, prefix = 'jobs_' } = options;
  const r = registry as Partial<Registry> | null;
  if (typeof r !== 'object' || r === null || typeof r.registerMetric !== 'function' || typeof r.removeSingleMetric !== 'function' || typeof r.getSingleMetric !== 'function') {
    throw new InvalidOptionsError('registry', "expected a prom-client Registry (new Registry(), or prom-client's register)");
  }
  if (typeof prefix !== 'string' || prefix.length > 100 || !METRIC_PREFIX.test(prefix)) {
    throw new InvalidOptionsError('prefix', `expected a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*, at most 100 characters), got ${JSON.stringify(prefix)}`);
  }
  return { registry, prefix };
}

/** Injection token of the resolved options. */
export const JOBS_METRICS_OPTIONS = Symbol('JOBS_METRICS_OPTIONS');
