// A ResourceFamily writes the text prom-client would write for the same series (escaping, number
// format, HELP and TYPE), follows labels and values changed in place, keeps nothing per resource
// between scrapes, and the TextRegistry serves it beside prom-client's own metrics.
import { spawnSync } from "node:child_process";
import { Gauge, Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import type { AnyResource } from "../../src/api/resources.ts";
import {
  CHUNK_BYTES,
  ChunkPool,
  ResourceFamily,
  TextRegistry,
} from "../../src/observability/resource-families.ts";
import { trainingJob } from "../trainingjob/builders.ts";

/** One whole series line of family() over job(name, "Running", value). */
const SERIES = /^test_resource_phase\{name="job-\d+",phase="Running"\} \d+$/;

const HELP = 'A "family" with a \\ and a\nnewline in its help';

function family(): ResourceFamily {
  return new ResourceFamily({
    name: "test_resource_phase",
    help: HELP,
    labelNames: ["name", "phase"],
    kinds: ["TrainingJob"],
    series: (r, labels) => {
      const phase = (r.status as { phase?: string } | undefined)?.phase;
      if (phase === undefined) return undefined;
      labels[0] = r.metadata.name;
      labels[1] = phase;
      return (r.status as { value?: number } | undefined)?.value ?? 1;
    },
  });
}

function job(name: string, phase: string | undefined, value?: number): AnyResource {
  const r = trainingJob({}, 1, name) as AnyResource;
  if (phase !== undefined) r.status = { phase, ...(value !== undefined ? { value } : {}) } as never;
  return r;
}

/** What prom-client writes for these series. */
async function promClientText(series: [string, string, number][]): Promise<string> {
  const registry = new Registry();
  const gauge = new Gauge({
    name: "test_resource_phase",
    help: HELP,
    labelNames: ["name", "phase"],
    registers: [registry],
  });
  for (const [name, phase, value] of series) gauge.set({ name, phase }, value);
  return registry.getSingleMetricAsString("test_resource_phase");
}

describe("ResourceFamily", () => {
  it("writes what prom-client writes, hostile label values and odd numbers included", async () => {
    const f = family();
    const resources = [
      job("plain", "Running"),
      job("quoted", 'say "hi"'),
      job("slashed", "a\\b\nc"),
      job("none", undefined),
      job("ratio", "Running", 0.25),
      job("inf", "Running", Number.POSITIVE_INFINITY),
      job("nan", "Running", Number.NaN),
    ];
    f.observe(() => resources);
    expect(f.text()).toBe(
      await promClientText([
        ["plain", "Running", 1],
        ["quoted", 'say "hi"', 1],
        ["slashed", "a\\b\nc", 1],
        ["ratio", "Running", 0.25],
        ["inf", "Running", Number.POSITIVE_INFINITY],
        ["nan", "Running", Number.NaN],
      ]),
    );
    const empty = family();
    expect(empty.text()).toBe(await promClientText([]));
  });

  it("writes a series again when its labels or value change, even in place, and drops a resource that goes", () => {
    const f = family();
    const a = job("a", "Pending");
    const b = job("b", "Pending");
    let resources = [a, b];
    f.observe(() => resources);
    expect(f.text()).toContain('test_resource_phase{name="a",phase="Pending"} 1');
    (a.status as { phase: string }).phase = "Running";
    (b.status as { value?: number }).value = 2;
    const text = f.text();
    expect(text).toContain('test_resource_phase{name="a",phase="Running"} 1');
    expect(text).toContain('test_resource_phase{name="b",phase="Pending"} 2');
    expect(text).not.toContain('phase="Pending"} 1');
    resources = [b];
    expect(f.text()).not.toContain('name="a"');
  });

  it("keeps nothing per resource between scrapes and allocates next to nothing on V8's heap for one (10,000 resources)", () => {
    // In a process of its own, with --expose-gc and a young generation too large to be collected
    // during a scrape: the heap grows by what the scrape allocates, then is measured after full
    // collections.
    const script = `
      import { ResourceFamily, ChunkPool } from ${JSON.stringify(new URL("../../src/observability/resource-families.ts", import.meta.url).href)};
      const resources = Array.from({ length: 10_000 }, (_, i) => ({
        kind: "TrainingJob",
        metadata: { namespace: "team-" + (i % 10), name: "job-" + i },
        status: { phase: "Running", reason: "Submitted" },
      }));
      const f = new ResourceFamily({
        name: "mlops_resource_info",
        help: "h",
        labelNames: ["kind", "namespace", "name", "phase", "reason"],
        kinds: ["TrainingJob"],
        series: (r, labels) => {
          labels[0] = r.kind; labels[1] = r.metadata.namespace; labels[2] = r.metadata.name;
          labels[3] = r.status.phase; labels[4] = r.status.reason;
          return 1;
        },
      });
      f.observe(() => resources);
      const pool = new ChunkPool();
      const scrape = () => { let bytes = 0; for (const chunk of f.chunks(pool.take)) { bytes += chunk.length; pool.give(chunk); } return bytes; };
      scrape(); scrape(); // compiled
      gc(); gc();
      const before = process.memoryUsage().heapUsed;
      const bytes = scrape();
      const allocated = process.memoryUsage().heapUsed - before;
      scrape();
      gc(); gc();
      console.log(JSON.stringify({ bytes, allocated, grown: process.memoryUsage().heapUsed - before }));`;
    const r = spawnSync(
      process.execPath,
      [
        "--expose-gc",
        "--min-semi-space-size=64",
        "--max-semi-space-size=64",
        "--disable-warning=ExperimentalWarning",
        "--input-type=module",
        "-e",
        script,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const { bytes, allocated, grown } = JSON.parse(r.stdout) as {
      bytes: number;
      allocated: number;
      grown: number;
    };
    expect(bytes).toBeGreaterThan(10_000 * 80); // 10,000 lines of ~100 characters
    // A kept line per resource (its text, labels and a weak map's entry) was ~4 MB here.
    expect(grown, `grown ${grown}`).toBeLessThan(512 * 1024);
    // Lines made as strings (ropes, joined a piece at a time), a labels array and a series object a
    // resource, and an iterator result each: 6.6 MB a scrape.
    expect(allocated, `allocated ${allocated}`).toBeLessThan(256 * 1024);
  });

  it("writes labels of any length and any character: UTF-8 across chunks, a line longer than a chunk on its own", async () => {
    const phases = Array.from({ length: 2000 }, (_, i) => `Rünning-${"é🚀".repeat(i % 7)}`);
    const long = `x${"ü".repeat(CHUNK_BYTES)}`; // more bytes than a chunk
    const resources = [
      ...phases.map((p, i) => job(`job-${i}`, p)),
      job("long", long),
      job("after", 'a "quoted" phase'),
    ];
    const f = family();
    f.observe(() => resources);
    const chunks = [...f.chunks(() => Buffer.allocUnsafe(CHUNK_BYTES))];
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks.filter((c) => !Buffer.from(c).includes(long))) {
      expect(chunk.length).toBeLessThanOrEqual(CHUNK_BYTES);
      // Whole UTF-8 text, whole lines: each chunk decodes alone and ends where a line ends.
      const text = new TextDecoder("utf-8", { fatal: true }).decode(chunk);
      expect(text.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !l.endsWith("} 1"))).toEqual(
        [],
      );
    }
    expect(f.text()).toBe(
      await promClientText([
        ...phases.map((p, i): [string, string, number] => [`job-${i}`, p, 1]),
        ["long", long, 1],
        ["after", 'a "quoted" phase', 1],
      ]),
    );
  });

  it("gives prom-client's values to callers that read them (JSON, tests)", async () => {
    const f = family();
    f.observe(() => [job("a", "Running", 3)]);
    expect((await f.get()).values).toEqual([{ labels: { name: "a", phase: "Running" }, value: 3 }]);
  });
});

describe("TextRegistry", () => {
  it("serves a family's own text beside prom-client's metrics", async () => {
    const registry = new TextRegistry();
    new Gauge({ name: "test_plain", help: "plain", registers: [registry] }).set(5);
    const f = family();
    f.observe(() => [job("a", "Running")]);
    registry.registerMetric(f as never);
    const text = vi.spyOn(f, "text");
    const get = vi.spyOn(f, "get");
    expect(await registry.metrics()).toBe(
      `# HELP test_plain plain\n# TYPE test_plain gauge\ntest_plain 5\n\n${f.text()}\n`,
    );
    expect(await registry.getSingleMetricAsString("test_resource_phase")).toBe(f.text());
    // Its own text, not prom-client's formatting of its values.
    expect(text).toHaveBeenCalled();
    expect(get).not.toHaveBeenCalled();
  });

  it("gives metrics() in pieces: the same text, prom-client's as strings, a family of many series in chunks of whole lines", async () => {
    const registry = new TextRegistry();
    new Gauge({ name: "test_before", help: "before", registers: [registry] }).set(1);
    const f = family();
    const resources = Array.from({ length: 3000 }, (_, i) => job(`job-${i}`, "Running", i));
    f.observe(() => resources);
    registry.registerMetric(f as never);
    new Gauge({ name: "test_after", help: "after", registers: [registry] }).set(2);
    const pieces: (string | Uint8Array)[] = [];
    for await (const piece of registry.pieces()) pieces.push(piece);
    const text = (p: string | Uint8Array) => (typeof p === "string" ? p : Buffer.from(p).toString("utf8"));
    expect(pieces.map(text).join("")).toBe(await registry.metrics());
    const chunks = pieces.filter((p): p is Uint8Array => typeof p !== "string");
    expect(chunks.length).toBeGreaterThan(5);
    expect(pieces.filter((p) => typeof p === "string" && p.includes("test_resource_phase{"))).toEqual([]);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(CHUNK_BYTES);
      if (chunk === chunks.at(-1)) continue;
      expect(chunk.length).toBeGreaterThan(CHUNK_BYTES - 200); // full, but for the last
      // Whole lines: each chunk after the first starts a line and ends one.
      expect(text(chunk).endsWith("\n")).toBe(false);
      const partial = text(chunk)
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#") && !SERIES.test(l));
      expect(partial).toEqual([]);
    }
  });
});

describe("ChunkPool", () => {
  it("hands out a chunk again once it is given back, keeps at most its number, and takes back only its own, once", () => {
    const pool = new ChunkPool(2);
    const a = pool.take();
    const b = pool.take();
    const c = pool.take();
    expect(new Set([a.buffer, b.buffer, c.buffer]).size).toBe(3);
    expect(a.length).toBe(CHUNK_BYTES);
    pool.give(a.subarray(0, 10)); // a view of it, as a family yields
    pool.give(a);
    pool.give(Buffer.allocUnsafeSlow(CHUNK_BYTES)); // not the pool's
    expect(pool.free).toBe(1);
    pool.give(b);
    pool.give(c);
    expect(pool.free).toBe(2);
    const again = [pool.take(), pool.take(), pool.take()];
    expect(again.map((x) => x.buffer)).toEqual([b.buffer, a.buffer, expect.anything()]);
    expect(again[2]?.buffer).not.toBe(c.buffer);
  });
});
