// Benchmark: crash safety of an MlopsStack on the real Docker engine at full size: `mlopsctl run`
// killed with SIGKILL at seeded random points while it creates a stack (its own network name and
// /24 subnet, engine-chosen host ports), then run to Ready (test/safety/crash-stack.ts); prints what
// was found and removes everything its owner id made.
//   node bench/crash-stack.ts [--kills 20] [--seed 1] [--max-kill-delay-ms 8000]
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { crashStack, removeStack } from "../test/safety/crash-stack.ts";
import { main, onCleanup } from "./lib/cleanup.ts";
import { tempDir } from "./lib/temp.ts";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "20" },
    seed: { type: "string", default: "1" },
    "max-kill-delay-ms": { type: "string", default: "8000" },
  },
});

main("crash-stack", 1_200_000, async () => {
  const run = randomBytes(3).toString("hex");
  const owner = `bench-crash-stack-${run}`;
  const network = `mlops-bench-crash-${run}`;
  onCleanup(() => removeStack(owner, network));
  const kills = Number(values.kills);
  process.stdout.write(
    `crash-stack: ${kills} SIGKILLs while an MlopsStack is created, seed ${values.seed}\n`,
  );
  const f = await crashStack({
    root: tempDir("crash-stack"),
    ownerId: owner,
    network,
    subnet24: 100 + (Number.parseInt(run, 16) % 100),
    kills,
    seed: Number(values.seed),
    maxKillDelayMs: Number(values["max-kill-delay-ms"]),
    progress: (line) => process.stdout.write(`  ${line.slice(0, 300)}\n`),
  });
  const rows: [string, string | number][] = [
    ["kills survived", f.kills],
    ["restarts refused by the lock (exit 75)", f.lockRefusals],
    ["stack Ready at the end", String(f.ready)],
    ["containers per component", JSON.stringify(f.containers)],
    ["networks of the stack's name", f.networks],
    ["status file whole", String(f.statusWhole)],
    ["wall time", `${(f.wallMs / 1000).toFixed(1)} s`],
  ];
  for (const [what, value] of rows) process.stdout.write(`${what.padEnd(42)} ${value}\n`);
  const duplicates = Object.values(f.containers).some((n) => n !== 1) || f.networks !== 1;
  if (duplicates || !f.ready || f.lockRefusals > 0 || !f.statusWhole) {
    process.stdout.write("FAILED\n");
    process.exitCode = 1;
  }
});
