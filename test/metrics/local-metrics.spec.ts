import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LocalCounter, LocalHistogram } from '../../lib/metrics/local-metrics.js';

const BOUNDS = [0.01, 0.1, 1, 10];
const VALUES = [0, 0.01, 0.05, 0.1, 0.5, 2, 10, 11, 1e6];

/** The same observations through prom-client's own metrics and through ours: the registries' text must be identical. */
async function both(openMetrics: boolean) {
  // prom-client's types omit the constructor's content-type argument.
  const RegistryOf = Registry as unknown as new (contentType: string) => Registry;
  const contentType = openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
  const theirs = new RegistryOf(contentType);
  const ours = new RegistryOf(contentType);
  const c = new Counter({ name: 'x_total', help: 'h', labelNames: ['queue', 'name'], registers: [theirs] });
  const h = new Histogram({ name: 'y_seconds', help: 'h', labelNames: ['queue', 'name'], buckets: BOUNDS, registers: [theirs] });
  const lc = new LocalCounter('x_total', 'h').register(ours);
  const lh = new LocalHistogram('y_seconds', 'h', BOUNDS).register(ours);
  for (const [queue, name] of [['q', 'a'], ['q', 'b'], ['r', 'a']] as const) {
    for (const v of VALUES) {
      c.inc({ queue, name });
      h.observe({ queue, name }, v);
      lc.inc(queue, name);
      lh.observe(v, queue, name);
    }
  }
  return { theirs: await theirs.metrics(), ours: await ours.metrics(), ourRegistry: ours };
}

describe('LocalCounter and LocalHistogram: the exposition prom-client gives its own metrics', () => {
  it('Prometheus text format: identical to prom-client\'s Counter and Histogram fed the same values', async () => {
    const { theirs, ours } = await both(false);
    expect(ours).toBe(theirs);
    expect(ours).toContain('y_seconds_bucket{le="+Inf",queue="q",name="a"} 9');
  });

  it('OpenMetrics format: identical too', async () => {
    const { theirs, ours } = await both(true);
    expect(ours).toBe(theirs);
  });

  it('resetMetrics() zeroes them; removeSingleMetric() drops them', async () => {
    const { ourRegistry } = await both(false);
    ourRegistry.resetMetrics();
    expect(await ourRegistry.metrics()).not.toMatch(/^x_total\{/m);
    ourRegistry.removeSingleMetric('y_seconds');
    expect(ourRegistry.getSingleMetric('y_seconds')).toBeUndefined();
  });
});
