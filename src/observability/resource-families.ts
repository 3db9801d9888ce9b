// Metric families with a series per resource (mlops_resource_info, the progress gauges), rendered
// as exposition text by the family itself at each scrape. prom-client's Gauge resets, sets (hashing
// the labels) and formats every series on every scrape: at 10,000 resources a scrape cost 190-750 ms
// of the operator's CPU (1.3 MB of text). Here a series is its label values written into the
// family's template, escaped only when a value holds a character that needs it. No line is kept
// between scrapes: a cache of each resource's line (its text, labels and a weak map entry) held
// 4.2 MB at 10,000 and a scrape through it took 4.5-8 ms (docs/benchmarks.md, round 24).
// The lines are written as bytes into chunks of CHUNK_BYTES (a ChunkPool's, given back once the
// socket has them), not built as strings: a scrape that made its lines as strings (each a rope of its
// parts, joined per piece) allocated 6.6 MB on V8's heap at 10,000, ten scavenges of an idle
// operator's small young generation, and what the scavenges found alive (the piece being made, the
// pieces the socket had not taken yet) went to the old generation: +1.2 MB of garbage a scrape that
// only a full collection frees, and a young generation grown 1 -> 4 MB (docs/benchmarks.md, round 27).
import { Registry } from "prom-client";
import type { AnyResource, Kind } from "../api/resources.ts";

export interface ResourceFamilyOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** The kinds with series: the family asks for each kind's resources. */
  readonly kinds: readonly Kind[];
  /**
   * One resource's series: its label values written into `labels` (in the order of labelNames; an
   * array of the scrape's, reused for every resource), its value returned; undefined for none.
   */
  readonly series: (resource: AnyResource, labels: string[]) => number | undefined;
}

/** Registered like a prom-client metric (name, help, type, get); TextRegistry asks it for text(). */
export class ResourceFamily {
  readonly name: string;
  readonly help: string;
  readonly type = "gauge";
  readonly aggregator = "sum";
  readonly #labelNames: readonly string[];
  readonly #kinds: readonly Kind[];
  /** `name{label="`, `",label="`, ...: what goes before each label's value, as bytes (a metric's and its labels' names are ASCII). */
  readonly #prefixBytes: readonly Buffer[];
  readonly #series: ResourceFamilyOptions["series"];
  /** A line's bytes other than its label values and number: newline, prefixes, `"} ` (or the name and a space). */
  readonly #fixedBytes: number;
  /** The HELP and TYPE lines, as UTF-8. */
  readonly #head: Buffer;
  #resources: (kind: Kind) => readonly AnyResource[] = () => [];

  constructor(options: ResourceFamilyOptions) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    this.#kinds = options.kinds;
    const prefixes = options.labelNames.map((label, i) => `${i === 0 ? `${this.name}{` : '",'}${label}="`);
    this.#prefixBytes = prefixes.map((prefix) => Buffer.from(prefix, "latin1"));
    this.#series = options.series;
    this.#head = Buffer.from(
      `# HELP ${this.name} ${escapeText(this.help)}\n# TYPE ${this.name} ${this.type}`,
    );
    this.#fixedBytes = 1 + (prefixes.length === 0 ? this.name.length + 1 : prefixes.join("").length + 3);
  }

  /** Where the resources of a kind come from (the composition root passes its source's list). */
  observe(resources: (kind: Kind) => readonly AnyResource[]): void {
    this.#resources = resources;
  }

  /** The family in Prometheus's text format, as prom-client's registry writes one (no final newline). */
  text(): string {
    return Buffer.concat([...this.chunks(freshChunk)]).toString("utf8");
  }

  /**
   * text() as UTF-8 in chunks of at most CHUNK_BYTES, whole lines each (the first with HELP and
   * TYPE, the others from the newline that ends the line before), each a view of a buffer from
   * `take` (at least CHUNK_BYTES long). A line that could not fit an empty chunk comes on its own.
   * Nothing is allocated a resource: the resources are read by index (a for-of in a generator made
   * an iterator result each, 0.4 MB a scrape at 10,000) and the labels written into one array.
   */
  *chunks(take: () => Buffer): Generator<Uint8Array> {
    let chunk = take();
    let at = 0;
    const head = this.#head;
    if (head.length <= chunk.length) at = head.copy(chunk, 0);
    else yield Buffer.from(head);
    const prefixes = this.#prefixBytes;
    const labels = prefixes.map(() => "");
    for (const kind of this.#kinds) {
      const resources = this.#resources(kind);
      for (let r = 0; r < resources.length; r++) {
        const resource = resources[r];
        if (resource === undefined) continue;
        labels.fill("");
        const number = this.#series(resource, labels);
        if (number === undefined) continue;
        const value = valueText(number);
        // At most 3 bytes a UTF-16 unit; an escaped character is 2 bytes.
        let bound = this.#fixedBytes + value.length;
        for (let i = 0; i < prefixes.length; i++) bound += (labels[i] ?? "").length * 3;
        if (at + bound > chunk.length) {
          if (at > 0) yield chunk.subarray(0, at);
          chunk = take();
          at = 0;
          if (bound > chunk.length) {
            const own = Buffer.allocUnsafe(bound); // a line longer than a chunk, on its own
            yield own.subarray(0, this.#writeLine(own, 0, labels, value));
            continue;
          }
        }
        at = this.#writeLine(chunk, at, labels, value);
      }
    }
    if (at > 0) yield chunk.subarray(0, at);
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
    for (const kind of this.#kinds) {
      for (const resource of this.#resources(kind)) {
        const series = this.#labelNames.map(() => "");
        const value = this.#series(resource, series);
        if (value === undefined) continue;
        const labels: Record<string, string> = {};
        this.#labelNames.forEach((label, i) => {
          labels[label] = series[i] ?? "";
        });
        values.push({ labels, value });
      }
    }
    return { name: this.name, help: this.help, type: "gauge", aggregator: "sum", values };
  }

  /** Writes the newline and the series' line into `chunk` from `at` (room checked); returns where it ends. */
  #writeLine(chunk: Buffer, from: number, labels: readonly string[], value: string): number {
    const prefixes = this.#prefixBytes;
    let at = from;
    chunk[at++] = NEWLINE;
    if (prefixes.length === 0) at += chunk.write(`${this.name} `, at, "latin1");
    for (let i = 0; i < prefixes.length; i++) {
      const label = labels[i] ?? "";
      at += prefixes[i]?.copy(chunk, at) ?? 0;
      at += chunk.write(NEEDS_ESCAPE.test(label) ? escapeLabel(label) : label, at, "utf8");
    }
    if (prefixes.length > 0) at += CLOSE.copy(chunk, at);
    return at + chunk.write(value, at, "latin1");
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
   * metrics() in pieces (joined, the same text): prom-client's families as strings, a
   * ResourceFamily as its UTF-8 chunks, in buffers from `take`. OpenMetrics, which no route serves,
   * as one string.
   */
  async *pieces(take: () => Buffer = freshChunk): AsyncGenerator<string | Uint8Array> {
    if (this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) {
      yield await this.metrics();
      return;
    }
    // prom-client joins the families with a blank line and ends the text with a newline.
    let separator = "";
    for (const metric of this.getMetricsAsArray() as unknown[]) {
      if (metric instanceof ResourceFamily) {
        if (separator !== "") yield separator;
        yield* metric.chunks(take);
      } else yield separator + (await this.getMetricsAsString(metric));
      separator = "\n\n";
    }
    yield "\n";
  }
}

/**
 * A chunk's size: far below what V8 allocates as a large object, and outside V8's heap (a buffer's
 * bytes are the system's), so a scrape's text takes no room in the young generation. 16 KiB: ~80
 * chunks for 10,000 resources' series.
 */
export const CHUNK_BYTES = 16 * 1024;

/** How many characters of prom-client's own text the server gathers before it writes them. */
export const PIECE_CHARS = CHUNK_BYTES;

const freshChunk = (): Buffer => Buffer.allocUnsafeSlow(CHUNK_BYTES);

/**
 * Buffers of CHUNK_BYTES for scrapes' chunks: taken as the lines are written, given back once the
 * socket has written them, and up to `keep` kept for the next (the metrics server's 8: 128 KiB).
 * Only the pool's own buffers are taken back, each once.
 */
export class ChunkPool {
  readonly #free: ArrayBuffer[] = [];
  readonly #own = new WeakSet<ArrayBuffer>();
  readonly #keep: number;

  constructor(keep = 8) {
    this.#keep = keep;
  }

  readonly take = (): Buffer => {
    const free = this.#free.pop();
    if (free !== undefined) return Buffer.from(free);
    const chunk = freshChunk();
    this.#own.add(chunk.buffer as ArrayBuffer);
    return chunk;
  };

  /** Nothing reads `chunk` (a view of a taken buffer) any more. */
  give(chunk: Uint8Array): void {
    const buffer = chunk.buffer as ArrayBuffer;
    if (this.#free.length >= this.#keep || !this.#own.has(buffer) || this.#free.includes(buffer)) return;
    this.#free.push(buffer);
  }

  /** Buffers waiting to be taken (tests). */
  get free(): number {
    return this.#free.length;
  }
}

interface PromClientWriter {
  getMetricsAsString(this: Registry, metric: unknown): Promise<string>;
}

// The escaping and number format of prom-client's registry (lib/registry.js, lib/util.js).
const escapeText = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (text: string): string => escapeText(text).replace(/"/g, '\\"');
const NEEDS_ESCAPE = /[\\\n"]/;
const NEWLINE = 0x0a;
const CLOSE = Buffer.from('"} ', "latin1");

function valueText(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}
