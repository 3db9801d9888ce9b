// A ResourceFamily writes the text prom-client would write for the same series (escaping, number
// format, HELP and TYPE), follows labels and values changed in place, keeps nothing per resource
// between scrapes, and the TextRegistry serves it beside prom-client's own metrics.
import { spawnSync } from "node:child_process";
import { Gauge, Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import type { AnyResource } from "../../src/api/resources.ts";
import { PIECE_CHARS, ResourceFamily, TextRegistry } from "../../src/observability/resource-families.ts";
import { trainingJob } from "../trainingjob/builders.ts";

/** One whole series line of family() over job(name, "Running", value). */
const SERIES = /^test_resource_phase\{name="job-\d+",phase="Running"\} \d+$/;

const HELP = 'A "family" with a \\ and a\nnewline in its help';

function family(): ResourceFamily {
  return new ResourceFamily({
    name: "test_resource_phase",
    help: HELP,
    labelNames: ["name", "phase"],
    series: (r) => {
      const phase = (r.status as { phase?: string } | undefined)?.phase;
      const value = (r.status as { value?: number } | undefined)?.value ?? 1;
      return phase === undefined ? undefined : { labels: [r.metadata.name, phase], value };
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

  it("keeps nothing per resource between scrapes (10,000 resources: the heap the same after two)", () => {
    // In a process of its own, with --expose-gc: the heap measured after full collections.
    const script = `
      import { ResourceFamily } from ${JSON.stringify(new URL("../../src/observability/resource-families.ts", import.meta.url).href)};
      const resources = Array.from({ length: 10_000 }, (_, i) => ({
        kind: "TrainingJob",
        metadata: { namespace: "team-" + (i % 10), name: "job-" + i },
        status: { phase: "Running", reason: "Submitted" },
      }));
      const family = () => {
        const f = new ResourceFamily({
          name: "mlops_resource_info",
          help: "h",
          labelNames: ["kind", "namespace", "name", "phase", "reason"],
          series: (r) => ({ labels: [r.kind, r.metadata.namespace, r.metadata.name, r.status.phase, r.status.reason], value: 1 }),
        });
        f.observe(() => resources);
        return f;
      };
      const scrape = (f) => { let chars = 0; for (const piece of f.pieces()) chars += piece.length; return chars; };
      const measured = family();
      gc(); gc();
      const before = process.memoryUsage().heapUsed;
      const chars = scrape(measured) + scrape(measured);
      gc(); gc();
      console.log(JSON.stringify({ chars, grown: process.memoryUsage().heapUsed - before, held: measured !== undefined }));`;
    const r = spawnSync(
      process.execPath,
      ["--expose-gc", "--disable-warning=ExperimentalWarning", "--input-type=module", "-e", script],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const { chars, grown } = JSON.parse(r.stdout) as { chars: number; grown: number };
    expect(chars).toBeGreaterThan(2 * 10_000 * 80); // two scrapes of 10,000 lines of ~100 characters
    // A kept line per resource (its text, labels and a weak map's entry) was ~4 MB here.
    expect(grown, `grown ${grown}`).toBeLessThan(512 * 1024);
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

  it("gives metrics() in pieces: the same text, a family of many series cut at whole lines under a large object's size", async () => {
    const registry = new TextRegistry();
    new Gauge({ name: "test_before", help: "before", registers: [registry] }).set(1);
    const f = family();
    const resources = Array.from({ length: 3000 }, (_, i) => job(`job-${i}`, "Running", i));
    f.observe(() => resources);
    registry.registerMetric(f as never);
    new Gauge({ name: "test_after", help: "after", registers: [registry] }).set(2);
    const pieces: string[] = [];
    for await (const piece of registry.pieces()) pieces.push(piece);
    expect(pieces.join("")).toBe(await registry.metrics());
    const familyPieces = pieces.filter((p) => p.includes("test_resource_phase{"));
    expect(familyPieces.length).toBeGreaterThan(5);
    for (const piece of familyPieces) {
      expect(piece.length).toBeLessThan(PIECE_CHARS + 200); // a piece ends at the line that fills it
      // Whole lines: each piece after the first starts a line and ends one.
      expect(piece.endsWith("\n")).toBe(false);
      const partial = piece.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !SERIES.test(l));
      expect(partial).toEqual([]);
    }
  });
});
