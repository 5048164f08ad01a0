/** Label values of one series, by label name. */
export type Labels = Readonly<Record<string, string>>;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  lines(): string[];
}

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** `{a="1",b="2"}` in the declared label order; '' without labels. */
function labelText(names: readonly string[], labels: Labels, extra?: [string, string]): string {
  const parts = names.map((n) => `${n}="${escapeLabel(labels[n] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

abstract class Labelled<S> implements Metric {
  abstract readonly type: Metric['type'];
  protected readonly series = new Map<string, { labels: Labels; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    protected readonly labelNames: readonly string[],
  ) {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames)
      if (!LABEL.test(l) || l === 'le') throw new Error(`invalid label ${l} on ${name}`);
  }

  protected stateOf(labels: Labels, initial: () => S): S {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let entry = this.series.get(key);
    if (!entry) {
      for (const n of Object.keys(labels))
        if (!this.labelNames.includes(n)) throw new Error(`${this.name} has no label ${n}`);
      this.series.set(key, (entry = { labels: { ...labels }, state: initial() }));
    }
    return entry.state;
  }

  abstract lines(): string[];
}

/** A value that only goes up (a reset to zero means the process restarted). */
export class Counter extends Labelled<{ value: number }> {
  readonly type = 'counter';

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`${this.name}: a counter cannot go down (inc by ${by})`);
    this.stateOf(labels, () => ({ value: 0 })).value += by;
  }

  /** The current value of one series (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.stateOf(labels, () => ({ value: 0 })).value;
  }

  lines(): string[] {
    return [...this.series.values()].map(
      ({ labels, state }) => `${this.name}${labelText(this.labelNames, labels)} ${formatValue(state.value)}`,
    );
  }
}

/** A value that goes up and down; `reset` drops every series before a collector sets them afresh. */
export class Gauge extends Labelled<{ value: number }> {
  readonly type = 'gauge';

  set(labels: Labels, value: number): void {
    this.stateOf(labels, () => ({ value: 0 })).value = value;
  }

  reset(): void {
    this.series.clear();
  }

  lines(): string[] {
    return [...this.series.values()].map(
      ({ labels, state }) => `${this.name}${labelText(this.labelNames, labels)} ${formatValue(state.value)}`,
    );
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram extends Labelled<{ counts: number[]; sum: number; count: number }> {
  readonly type = 'histogram';
  private readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || new Set(sorted).size !== sorted.length)
      throw new Error(`${name}: buckets must be distinct and non-empty`);
    this.buckets = sorted;
  }

  observe(labels: Labels, value: number): void {
    const s = this.stateOf(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    // Counts are per bucket here and made cumulative when rendered.
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const { labels, state } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += state.counts[i]!;
        out.push(
          `${this.name}_bucket${labelText(this.labelNames, labels, ['le', formatValue(b)])} ${cumulative}`,
        );
      });
      out.push(`${this.name}_bucket${labelText(this.labelNames, labels, ['le', '+Inf'])} ${state.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, labels)} ${formatValue(state.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, labels)} ${state.count}`);
    }
    return out;
  }
}

/**
 * Metrics in the Prometheus text exposition format (version 0.0.4). Collectors run before each
 * render to set gauges read from the store, and to fold in counts logged since the last scrape.
 */
export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: (() => Promise<void>)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Runs before every render, in registration order. */
  collect(collector: () => Promise<void>): void {
    this.collectors.push(collector);
  }

  async render(): Promise<string> {
    for (const c of this.collectors) await c();
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return out.join('\n') + '\n';
  }

  private add<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

/** The content type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
