// Benchmark: does a watching operator fit in a container's memory limit? Converge --count
// TrainingJobs (`mlopsctl run --once`, outside any limit), then for each of --limits-mb start the
// operator watching them (`mlopsctl run`, a restart over a converged state directory) in a memory
// cgroup of that size, as a container's limit puts it, until it settles or dies, and --settle-s more.
// Printed per limit: whether it settled and when, its RSS then (and how much of it is anonymous
// memory, which the kernel cannot take back) and its peak (VmHWM), what the kernel
// charged the cgroup at most, its OOM kills, and which limit it warned of nearing
// (memory-headroom.ts). The launcher sizes Node's heap from the cgroup's limit (bin/mlopsctl), as in
// a container. The Node binary's pages are in the page cache already (charged where they were first
// read), so the cgroup is charged ~50 MB less than VmHWM; with --cold the page cache is dropped
// before each start (vm.drop_caches, the whole machine's), so the pages the operator reads, the
// binary's among them, are charged to its cgroup, as in a container on a host that never ran it.
// Needs root and cgroup v1's memory controller (test/cli/memory-cgroup.ts).
//   node bench/memory-limit.ts [--count 10000] [--limits-mb 256,384] [--settle-s 8] [--timeout-s 300]
//     [--cold]

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SIZING } from "../src/controller/memory-headroom.ts";
import { memoryCgroup } from "../test/cli/memory-cgroup.ts";
import { main } from "./lib/cleanup.ts";
import { converge, convergedLine } from "./lib/converge.ts";
import { mlopsctlBuild, settled, startOperator } from "./lib/operator.ts";
import { mb, s, table } from "./lib/stats.ts";
import { tempDir } from "./lib/temp.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "10000" },
    "limits-mb": { type: "string", default: "256,384" },
    "settle-s": { type: "string", default: "8" },
    "timeout-s": { type: "string", default: "300" },
    cold: { type: "boolean", default: false },
  },
});
const count = Number(values.count);
const limits = (values["limits-mb"] ?? "").split(",").map(Number);
const limitMs = Number(values["timeout-s"]) * 1000;
if (limits.some((l) => !Number.isInteger(l) || l < 64)) {
  process.stderr.write(
    `memory-limit: --limits-mb takes MB of 64 or more, comma-separated, not '${values["limits-mb"]}'\n`,
  );
  process.exit(2);
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which of the operator's warnings of memory running short it logged (memory-headroom.ts). */
function warnings(lines: readonly string[]): string {
  const logged = (text: string) => lines.some((line) => line.includes(text));
  const which = [
    ...(logged("the heap holds") ? ["heap limit"] : []),
    ...(logged("of anonymous memory settled") ? ["memory limit"] : []),
  ];
  return which.join(", ") || "-";
}

/** VmRSS, RssAnon and VmHWM of a live process, in bytes. */
function memoryOf(pid: number): { rss: number; anonymous: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb("VmRSS"), anonymous: kb("RssAnon"), peak: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/** Writes dirty pages out, then drops the clean ones from the page cache (root only). */
function dropPageCache(): void {
  execFileSync("sync");
  writeFileSync("/proc/sys/vm/drop_caches", "1");
}

main("memory-limit", limitMs * (limits.length + 1) + 120_000, async () => {
  const probe = memoryCgroup("mlops-bench-probe", 1024);
  if ("why" in probe) throw new Error(`needs a memory cgroup: ${probe.why}`);
  probe.remove();
  const root = tempDir("memory-limit");
  process.stdout.write(
    `memory-limit: ${count} TrainingJobs converged, then the operator watching them in a memory cgroup${values.cold ? ", each start with the page cache dropped (--cold)" : ""}\n`,
  );
  process.stdout.write(`mlopsctl runs the ${mlopsctlBuild()}\n`);
  const c = await converge({ root, count, limitMs });
  process.stdout.write(`${convergedLine(c, count)} in ${s(c.once.wallMs)}\n`);
  if (c.once.code !== 0) throw new Error(`convergence failed: ${c.once.stderr.join(" | ")}`);

  const rows: string[][] = [];
  for (const limit of limits) {
    const cgroup = memoryCgroup("mlops-bench-limit", limit);
    if ("why" in cgroup) throw new Error(cgroup.why);
    try {
      if (values.cold) dropPageCache();
      const operator = await startOperator({ ...c.setup, cgroup: cgroup.dir });
      const pid = operator.child.pid as number;
      const outcome = await Promise.race([
        settled(operator, 2000, limitMs).then((ms) => ({ ms })),
        operator.child.exited.then((code) => ({ code })),
      ]).catch((error: unknown) => ({ error: String(error) }));
      let memory: ReturnType<typeof memoryOf>;
      if ("ms" in outcome) {
        await sleep(Number(values["settle-s"]) * 1000);
        memory = memoryOf(pid);
      }
      // Still running, or how it ended (an OOM kill ends it with SIGKILL; its reads then fail first).
      const exited = await Promise.race([
        operator.child.exited,
        sleep("ms" in outcome ? 0 : 2000).then(() => undefined),
      ]);
      const result =
        exited !== undefined
          ? `ended (${String(exited)})`
          : "ms" in outcome
            ? `settled after ${s(outcome.ms)}`
            : `did not settle: ${"error" in outcome ? outcome.error : ""}`;
      await operator.child.stop(10_000);
      rows.push([
        `${limit} MB`,
        result,
        memory ? `${mb(memory.rss)} (${mb(memory.anonymous)})` : "-",
        memory ? mb(memory.peak) : "-",
        mb(cgroup.peakBytes()),
        String(cgroup.oomKills()),
        warnings([...operator.child.stdout, ...operator.child.stderr]),
      ]);
    } finally {
      await sleep(200);
      cgroup.remove();
    }
  }
  process.stdout.write(
    `\n${table([["memory limit", "the operator", "RSS (anonymous) then", "peak RSS", "charged at most", "OOM kills", "warned of"], ...rows])}\n`,
  );
  // README "Memory": what the sizing rule gives these resources, to read the rows against.
  const rule = Math.ceil((SIZING.baseMB + (count * SIZING.perResourceKB) / 1024) / 16) * 16;
  process.stdout.write(
    `the sizing rule (${SIZING.baseMB} MB + ~${SIZING.perResourceKB} KB per resource) for ${count}: ${rule} MB\n`,
  );
});
