// Metric families with a series per resource (mlops_resource_info, the progress gauges), rendered
// as exposition text by the family itself at each scrape. prom-client's Gauge resets, sets (hashing
// the labels) and formats every series on every scrape: at 10,000 resources a scrape cost 190-750 ms
// of the operator's CPU (1.3 MB of text). Here a series is its label values written into the
// family's template, escaped only when a value holds a character that needs it: 3.5 ms for the
// family at 10,000 resources. No line is kept between scrapes: a cache of each resource's line (its
// text, labels and a weak map entry) held 4.2 MB at 10,000 and a scrape through it took 4.5-8 ms
// (docs/benchmarks.md, round 24).
// The text goes out in pieces (TextRegistry.pieces), written as they are made: a scrape that built
// its 1.3 MB (10,000 resources) as one string made that string and the joins before it large
// objects, V8's to collect apart from the young generation, and the response a 1.3 MB buffer.
import { Registry } from "prom-client";
import type { AnyResource } from "../api/resources.ts";

export interface Series {
  /** Label values, in the order of the family's label names. */
  readonly labels: readonly string[];
  readonly value: number;
}

export interface ResourceFamilyOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** The series of one resource, or none. */
  readonly series: (resource: AnyResource) => Series | undefined;
}

/** Registered like a prom-client metric (name, help, type, get); TextRegistry asks it for text(). */
export class ResourceFamily {
  readonly name: string;
  readonly help: string;
  readonly type = "gauge";
  readonly aggregator = "sum";
  readonly #labelNames: readonly string[];
  /** `name{label="`, `",label="`, ...: what goes before each label's value. */
  readonly #prefixes: readonly string[];
  readonly #series: (resource: AnyResource) => Series | undefined;
  #resources: () => Iterable<AnyResource> = () => [];

  constructor(options: ResourceFamilyOptions) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    this.#prefixes = options.labelNames.map((label, i) => `${i === 0 ? `${this.name}{` : '",'}${label}="`);
    this.#series = options.series;
  }

  /** Where the resources come from (the composition root passes its source). */
  observe(resources: () => Iterable<AnyResource>): void {
    this.#resources = resources;
  }

  /** The family in Prometheus's text format, as prom-client's registry writes one (no final newline). */
  text(): string {
    return [...this.pieces()].join("");
  }

  /** text() in pieces of about PIECE_CHARS characters, whole lines each (the first with HELP and TYPE). */
  *pieces(): Generator<string> {
    let out = [`# HELP ${this.name} ${escapeText(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    let chars = 0;
    for (const resource of this.#resources()) {
      const series = this.#series(resource);
      if (series === undefined) continue;
      const line = this.#line(series);
      out.push(line);
      chars += line.length + 1;
      if (chars >= PIECE_CHARS) {
        yield out.join("\n");
        out = [""]; // the next piece starts with the newline that ends this one's last line
        chars = 0;
      }
    }
    if (out.length > 1 || out[0] !== "") yield out.join("\n");
  }

  /** prom-client's form, for its JSON output and for callers that read values. */
  async get(): Promise<{
    name: string;
    help: string;
    type: "gauge";
    aggregator: "sum";
    values: { labels: Record<string, string>; value: number }[];
  }> {
    const values: { labels: Record<string, string>; value: number }[] = [];
    for (const resource of this.#resources()) {
      const series = this.#series(resource);
      if (series === undefined) continue;
      const labels: Record<string, string> = {};
      this.#labelNames.forEach((label, i) => {
        labels[label] = series.labels[i] ?? "";
      });
      values.push({ labels, value: series.value });
    }
    return { name: this.name, help: this.help, type: "gauge", aggregator: "sum", values };
  }

  #line(series: Series): string {
    const prefixes = this.#prefixes;
    if (prefixes.length === 0) return `${this.name} ${valueText(series.value)}`;
    let line = "";
    for (let i = 0; i < prefixes.length; i++) {
      const value = series.labels[i] ?? "";
      line += prefixes[i] + (NEEDS_ESCAPE.test(value) ? escapeLabel(value) : value);
    }
    return `${line}"} ${valueText(series.value)}`;
  }
}

/**
 * A prom-client registry that lets a ResourceFamily write its own text; every other metric is
 * written by prom-client as before. (getMetricsAsString is the registry's per-family writer, which
 * metrics() and getSingleMetricAsString() call; it is not in prom-client's type declarations.)
 */
export class TextRegistry extends Registry {
  getMetricsAsString(metric: unknown): Promise<string> {
    if (metric instanceof ResourceFamily) return Promise.resolve(metric.text());
    return (Registry.prototype as unknown as PromClientWriter).getMetricsAsString.call(this, metric);
  }

  /**
   * metrics() in pieces (joined, the same text): each family after the other, a ResourceFamily in
   * pieces of about PIECE_CHARS characters. OpenMetrics, which no route serves, as one piece.
   */
  async *pieces(): AsyncGenerator<string> {
    if (this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) {
      yield await this.metrics();
      return;
    }
    // prom-client joins the families with a blank line and ends the text with a newline.
    let separator = "";
    for (const metric of this.getMetricsAsArray() as unknown[]) {
      if (metric instanceof ResourceFamily) {
        for (const piece of metric.pieces()) {
          yield separator + piece;
          separator = "";
        }
      } else yield separator + (await this.getMetricsAsString(metric));
      separator = "\n\n";
    }
    yield "\n";
  }
}

/**
 * A piece's length: far below what V8 allocates as a large object (strings past ~128 KB), so what a
 * scrape builds dies young. 16 K characters: 80 pieces for 10,000 resources' series.
 */
export const PIECE_CHARS = 16 * 1024;

interface PromClientWriter {
  getMetricsAsString(this: Registry, metric: unknown): Promise<string>;
}

// The escaping and number format of prom-client's registry (lib/registry.js, lib/util.js).
const escapeText = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (text: string): string => escapeText(text).replace(/"/g, '\\"');
const NEEDS_ESCAPE = /[\\\n"]/;

function valueText(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}
