import type { Metric, Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string>>;

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * A counter or histogram fed on the job hot path with a few additions on plain numbers, and
 * read by prom-client when the registry is scraped (prom-client's `get()` shape: a name, help,
 * type, aggregator and samples; the registry formats them as it formats its own metrics). It
 * exists for speed: prom-client's `inc(labels)` / `observe(labels, v)` hash the label object on
 * every call, which cost 3 to 5 µs per job here, several per cent of a short job's processing.
 * Its labels are the jobs metrics' own: queue, job name and, for some, the outcome; each
 * series' label object is built once.
 */
abstract class LocalMetric<S> {
  readonly aggregator = 'sum';
  /** Series by queue, then job name, then outcome ('' without): lookups of the event's own strings, no key to build. */
  private readonly series = new Map<string, Map<string, Map<string, { labels: Labels; data: S }>>>();

  constructor(
    public name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
  ) {}

  /** Registers it; a name already in the registry is refused by prom-client. */
  register(registry: Registry): this {
    // prom-client types its registry's metrics as its own classes; it reads them only through `get()`, `reset()` and these fields.
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  /** The series of (queue, name, outcome); its label object is built when it is new. */
  protected at(queue: string, name: string, outcome: string): S {
    let byName = this.series.get(queue);
    if (!byName) this.series.set(queue, (byName = new Map()));
    let byOutcome = byName.get(name);
    if (!byOutcome) byName.set(name, (byOutcome = new Map()));
    let s = byOutcome.get(outcome);
    if (!s) byOutcome.set(outcome, (s = { labels: outcome ? { queue, name, outcome } : { queue, name }, data: this.fresh() }));
    return s.data;
  }

  protected abstract fresh(): S;
  protected abstract samples(labels: Labels, data: S, out: Sample[]): void;

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const byName of this.series.values()) {
      for (const byOutcome of byName.values()) for (const { labels, data } of byOutcome.values()) this.samples(labels, data, values);
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** `registry.resetMetrics()`: every series starts again from zero. */
  reset(): void {
    this.series.clear();
  }
}

export class LocalCounter extends LocalMetric<{ value: number }> {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }

  /** One more in the series of (queue, name, outcome); `outcome` '' for a counter without that label. */
  inc(queue: string, name: string, outcome = ''): void {
    this.at(queue, name, outcome).value++;
  }

  protected fresh() {
    return { value: 0 };
  }

  protected samples(labels: Labels, data: { value: number }, out: Sample[]): void {
    out.push({ labels: { ...labels }, value: data.value });
  }
}

interface HistogramData {
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  buckets: number[];
  sum: number;
  count: number;
}

export class LocalHistogram extends LocalMetric<HistogramData> {
  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
  ) {
    super(name, help, 'histogram');
  }

  /** One observation in the series of (queue, name, outcome); `outcome` '' for a histogram without that label. */
  observe(value: number, queue: string, name: string, outcome = ''): void {
    const d = this.at(queue, name, outcome);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    d.buckets[i]!++;
    d.sum += value;
    d.count++;
  }

  protected fresh(): HistogramData {
    return { buckets: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  /** As Prometheus histograms read: cumulative `_bucket{le}` samples, then `_sum` and `_count`. */
  protected samples(labels: Labels, d: HistogramData, out: Sample[]): void {
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += d.buckets[i]!;
      out.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
    });
    out.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: d.count });
    out.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: d.sum });
    out.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: d.count });
  }
}
