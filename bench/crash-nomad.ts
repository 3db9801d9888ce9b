// Benchmark: crash safety at full size. `mlopsctl run` is killed with SIGKILL at seeded random
// points while it converges TrainingJobs on the Nomad double (with the Grafana double), restarted
// each time, then a last `run --once` (test/safety/crash-nomad.ts); prints what was checked.
//   node bench/crash-nomad.ts [--count 1000] [--kills 50] [--seed 1] [--max-kill-delay-ms 1500]
import { parseArgs } from "node:util";
import { startGrafanaDouble } from "../test/doubles/grafana/index.ts";
import { startNomadDouble } from "../test/doubles/nomad/index.ts";
import { crashNomad } from "../test/safety/crash-nomad.ts";
import { main, onCleanup } from "./lib/cleanup.ts";
import { tempDir } from "./lib/temp.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "1000" },
    kills: { type: "string", default: "50" },
    seed: { type: "string", default: "1" },
    "max-kill-delay-ms": { type: "string", default: "1500" },
  },
});

main("crash-nomad", 1_800_000, async () => {
  const nomad = await startNomadDouble({ heartbeatMs: 1_000 });
  onCleanup(() => nomad.close());
  const grafana = await startGrafanaDouble();
  onCleanup(() => grafana.close());
  const count = Number(values.count);
  const kills = Number(values.kills);
  process.stdout.write(`crash-nomad: ${kills} SIGKILLs over ${count} TrainingJobs, seed ${values.seed}\n`);
  const f = await crashNomad({
    root: tempDir("crash"),
    nomad,
    grafana,
    count,
    kills,
    seed: Number(values.seed),
    maxKillDelayMs: Number(values["max-kill-delay-ms"]),
    progress: (line) => process.stdout.write(`  ${line}\n`),
  });
  const lost = f.missing.length + f.tornStatus.length;
  const rows: [string, string | number][] = [
    ["kills survived", `${f.kills} (${f.killsMidWork} while Nomad writes were in flight)`],
    ["edits / deletions between kills", `${f.edits} / ${f.deletes}`],
    ["restarts refused by the lock (exit 75)", f.lockRefusals],
    ["final run --once exit code", f.finalExit],
    ["declared resources at the end", f.declared],
    ["objects lost (missing job or torn status)", lost],
    ["orphan Nomad jobs", f.orphans.length],
    ["jobs registered with two run ids for one generation", f.duplicateRuns.length],
    ["Grafana annotations posted twice", f.duplicateAnnotations.length],
    ["runs without their annotation", f.unannotated.length],
    ["temporary files left", f.tempFiles.length],
    ["status files and event logs of undeclared resources", f.strayState.length],
    ["wall time", `${(f.wallMs / 1000).toFixed(1)} s`],
  ];
  for (const [what, value] of rows) process.stdout.write(`${what.padEnd(54)} ${value}\n`);
  const failed =
    lost + f.orphans.length + f.duplicateRuns.length + f.duplicateAnnotations.length + f.unannotated.length;
  if (failed > 0 || f.lockRefusals > 0 || f.finalExit !== 0 || f.tempFiles.length > 0) {
    process.stdout.write(`FAILED: ${JSON.stringify(f).slice(0, 2000)}\n`);
    process.exitCode = 1;
  }
});
