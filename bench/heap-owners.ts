// Benchmark: where a watching operator's memory is. Converge 10,000 TrainingJobs (`mlopsctl run
// --once`), start the operator watching (`mlopsctl run`), let it settle, then read its RSS by mapping
// (/proc/<pid>/smaps: the Node binary's pages, glibc's heap, the rest, V8's heap among it) and take a
// heap snapshot (`--heapsnapshot-signal`), whose objects are counted for the class instance that
// holds them (bench/lib/heap-snapshot.ts): bytes per holder and per resource.
// Then /metrics is read `--scrapes` times, every `--scrape-every-s`, as Prometheus would: RSS after
// each read (just before the next), and the operator's CPU over them.
// With --repeat N, N passes (each its own directory, double and operator; the heap snapshot in the
// first only), then the median and range of the RSS unscraped and of the most while scraped, judged
// against issue 12's 120 MB on the medians: glibc's heap alone moves a pass's figure by ~5 MB
// (docs/benchmarks.md, rounds 26 and 27).
//   node bench/heap-owners.ts [--count 10000] [--settle-s 15] [--scrapes 8] [--scrape-every-s 15] [--timeout-s 300]
//     [--repeat N]
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { main } from "./lib/cleanup.ts";
import { converge, convergedLine } from "./lib/converge.ts";
import { heapOwners } from "./lib/heap-snapshot.ts";
import { mlopsctlBuild, settled, startOperator } from "./lib/operator.ts";
import { passCount, runPasses } from "./lib/passes.ts";
import { mb, median, s, spread, table, verdict } from "./lib/stats.ts";
import { tempDir } from "./lib/temp.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "10000" },
    "settle-s": { type: "string", default: "15" },
    scrapes: { type: "string", default: "8" },
    "scrape-every-s": { type: "string", default: "15" },
    "timeout-s": { type: "string", default: "300" },
    repeat: { type: "string", default: "1" },
  },
});
const count = Number(values.count);
const limitMs = Number(values["timeout-s"]) * 1000;
const passes = passCount("heap-owners", values.repeat);
const scrapes = Number(values.scrapes);
const everyMs = Number(values["scrape-every-s"]) * 1000;
/** Issue 12's gate for a watching operator at 10,000 resources. */
const GATE_BYTES = 120 * 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const mb1 = (bytes: number) => `${mib(bytes)} MB`;

/** RSS by mapping: the Node binary's pages, glibc's heap ([heap]), anonymous memory (V8's heap, stacks). */
function rssByMapping(pid: number): { name: string; bytes: number }[] {
  const groups = new Map<string, number>();
  let current = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const file = head[2] ?? "";
      current = file.endsWith("/node")
        ? `the Node binary (${head[1] === "r-xp" ? "code" : "data"})`
        : file === "[heap]"
          ? "glibc's heap ([heap])"
          : file === ""
            ? "anonymous (V8's heap, thread stacks, buffers)"
            : "other mappings (shared libraries, ...)";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) groups.set(current, (groups.get(current) ?? 0) + Number(rss[1]) * 1024);
  }
  return [...groups].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** What the summary of repeated passes compares. */
interface Pass {
  readonly rss: number;
  /** The most RSS read between scrapes; undefined without scrapes. */
  readonly scrapedMax: number | undefined;
}

main("heap-owners", passes * (limitMs * 2 + 180_000 + scrapes * everyMs), async () => {
  const done = await runPasses(passes, (i) => pass(i === 1)); // the heap snapshot in the first only
  if (passes === 1) return;
  const rss = done.map((p) => p.rss);
  const scraped = done.flatMap((p) => (p.scrapedMax === undefined ? [] : [p.scrapedMax]));
  const gate = (values: number[]) => `≤ 120 MB (${verdict(median(values), GATE_BYTES)})`;
  process.stdout.write(
    `\n${table([
      [`${passes} passes of ${count}`, "median (min–max)", "target, on the median"],
      ["RSS watching, unscraped", spread(rss, mb1), gate(rss)],
      ...(scraped.length > 0
        ? [
            [
              `the most while scraped every ${values["scrape-every-s"]} s`,
              spread(scraped, mb1),
              gate(scraped),
            ],
          ]
        : []),
    ])}\n`,
  );
});

/** One pass: converge, watch, measure; the heap snapshot and its owners when `snapshot`. */
async function pass(snapshot: boolean): Promise<Pass> {
  const root = tempDir("heap");
  const snapshots = tempDir("heap-snapshots");
  process.stdout.write(`heap-owners: ${count} TrainingJobs converged, then the operator watching\n`);
  process.stdout.write(`mlopsctl runs the ${mlopsctlBuild()}\n`);
  const c = await converge({ root, count, limitMs });
  process.stdout.write(`${convergedLine(c, count)} in ${s(c.once.wallMs)}\n`);
  if (c.once.code !== 0) throw new Error(`convergence failed: ${c.once.stderr.join(" | ")}`);

  const options = `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshots}`;
  const operator = await startOperator({ ...c.setup, env: { ...c.setup.env, NODE_OPTIONS: options } });
  const pid = operator.child.pid;
  if (pid === undefined) throw new Error("the operator has no pid");
  const settleMs = await settled(operator, 2000, limitMs);
  await sleep(Number(values["settle-s"]) * 1000);
  const mappings = rssByMapping(pid);
  const rss = mappings.reduce((sum, m) => sum + m.bytes, 0);
  process.stdout.write(
    `operator watching: settled after ${s(settleMs)}, measured ${values["settle-s"]} s later\n\n`,
  );
  process.stdout.write(
    `${table([["RSS by mapping", "MB", ""], ...mappings.map((m) => [m.name, mb(m.bytes), ""]), ["RSS", mb(rss), `≤ 120 MB (${verdict(rss, GATE_BYTES)})`]])}\n\n`,
  );

  let scrapedMax: number | undefined;
  if (scrapes > 0) {
    const cpu0 = operator.usage()?.cpuMs ?? Number.NaN;
    const after: number[] = [];
    for (let i = 0; i < scrapes; i++) {
      const text = await fetch(`${operator.metrics}/metrics`).then((r) => r.text());
      if (!text.includes("mlops_resource_info{")) throw new Error("/metrics has no mlops_resource_info");
      await sleep(everyMs);
      after.push(rssByMapping(pid).reduce((sum, m) => sum + m.bytes, 0));
    }
    const cpuMs = (operator.usage()?.cpuMs ?? Number.NaN) - cpu0;
    scrapedMax = Math.max(...after);
    process.stdout.write(
      `scraped ${scrapes} times, every ${values["scrape-every-s"]} s: RSS before the next ${after.map(mib).join(", ")} MB (max ${mib(scrapedMax)}: ≤ 120 MB ${verdict(scrapedMax, GATE_BYTES)}); operator CPU ${cpuMs.toFixed(0)} ms (${((cpuMs / (scrapes * everyMs)) * 100).toFixed(2)} % of a core)\n\n`,
    );
  }
  if (!snapshot) {
    await operator.child.stop(10_000);
    return { rss, scrapedMax };
  }

  process.kill(pid, "SIGUSR2");
  // The snapshot is written on the main thread: once /readyz answers again, the file is whole.
  let file: string | undefined;
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    await sleep(500);
    file = readdirSync(snapshots).find((f) => f.endsWith(".heapsnapshot"));
    const answered = await fetch(`${operator.metrics}/readyz`).then(
      () => true,
      () => false,
    );
    if (file && answered) break;
  }
  await operator.child.stop(10_000);
  if (!file) throw new Error("no heap snapshot was written");
  const path = join(snapshots, file);
  process.stdout.write(`heap snapshot: ${mb(statSync(path).size)} of JSON\n`);
  const heap = heapOwners(path);
  const rows = heap.holders
    .filter((h) => h.bytes >= 256 * 1024)
    .map((h) => [`${h.name} (${h.instances})`, mb(h.bytes), kb(h.bytes / count)]);
  const unowned = heap.unowned.reduce((sum, u) => sum + u.bytes, 0);
  process.stdout.write(
    `${table([
      ["objects held by (instances), each object counted once", "MB", "per resource"],
      ...rows,
      [
        `no one holder (${heap.unowned
          .map((u) => `${u.type} ${mb(u.bytes)}`)
          .slice(0, 4)
          .join(", ")})`,
        mb(unowned),
        kb(unowned / count),
      ],
      ["the whole heap (objects reachable from the roots)", mb(heap.totalBytes), kb(heap.totalBytes / count)],
    ])}\n`,
  );
  process.stdout.write(
    `\n${table([
      ["objects held by no one holder, by the holders they are reached through", "MB", "per resource"],
      ...heap.shared
        .filter((g) => g.bytes >= 512 * 1024)
        .map((g) => [
          g.holders.join(" + ") || "module scope, code, V8's roots only",
          mb(g.bytes),
          kb(g.bytes / count),
        ]),
    ])}\n`,
  );
  process.stdout.write(
    `strings: ${mb(heap.strings.bytes)} in ${heap.strings.count} strings; copies of equal strings beyond the first: ${mb(heap.strings.duplicateBytes)}\n`,
  );
  return { rss, scrapedMax };
}
