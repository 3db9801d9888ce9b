// Crash safety on Nomad: `mlopsctl run` is killed with SIGKILL at seeded random points while it
// converges many TrainingJobs (the Nomad and Grafana doubles in this process), then restarted;
// between restarts some files are edited (a new run), deleted or added back, and some runs finish.
// A last `run --once` must converge, and then: exactly one Nomad job per declared resource and none
// for anything else (no orphans, no duplicates), one run id per job, generation and run spec, every
// status file whole and matching its Nomad job, one Grafana annotation per run, no temporary files,
// and every restart took the lock over by itself. Used by test/integration/crash-nomad.test.ts and
// bench/crash-nomad.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { GrafanaDouble } from "../doubles/grafana/index.ts";
import type { NomadDouble } from "../doubles/nomad/index.ts";
import { startOperator } from "./operator-process.ts";
import { below, seeded } from "./random.ts";

export interface CrashOptions {
  readonly root: string;
  readonly nomad: NomadDouble;
  readonly grafana: GrafanaDouble;
  readonly count: number;
  readonly kills: number;
  readonly seed: number;
  /** Kill within this long after the operator says it is starting (default 1,500 ms). */
  readonly maxKillDelayMs?: number;
  readonly progress?: (line: string) => void;
}

export interface CrashFigures {
  readonly seed: number;
  readonly count: number;
  readonly kills: number;
  /** Kills that landed while Nomad writes were still being made (the rest found nothing to do). */
  readonly killsMidWork: number;
  /** Restarts that exited 75 (a lock not taken over): must be 0. */
  readonly lockRefusals: number;
  readonly edits: number;
  readonly deletes: number;
  readonly finalExit: number | string;
  readonly declared: number;
  /** Declared resources without their Nomad job, or with another run than the status records. */
  readonly missing: string[];
  /** Nomad jobs of this owner that no file declares. */
  readonly orphans: string[];
  /** (job, generation, run-spec hash) registered with more than one run id. */
  readonly duplicateRuns: string[];
  readonly tornStatus: string[];
  /** Run ids with more than one Grafana annotation. */
  readonly duplicateAnnotations: string[];
  /** Runs of declared resources without an annotation. */
  readonly unannotated: string[];
  readonly tempFiles: string[];
  /** Status files and event logs of resources no file declares (finalized ones leave none). */
  readonly strayState: string[];
  readonly wallMs: number;
}

const OWNER = "crash-suite";

const doc = (name: string, epoch: number) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: registry.example/train:1
  env:
    - { name: EPOCH, value: "${epoch}" }
`;

export async function crashNomad(options: CrashOptions): Promise<CrashFigures> {
  const started = performance.now();
  const { nomad, grafana, root } = options;
  const random = seeded(options.seed);
  const dir = join(root, "jobs");
  const stateDir = join(root, "state");
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: options.count }, (_, i) => `job-${i}`);
  const epoch = new Map<string, number>(names.map((n) => [n, 0]));
  const present = new Set(names);
  for (const name of names) writeFileSync(join(dir, `${name}.yaml`), doc(name, 0));
  const args = {
    dir,
    stateDir,
    nomadAddr: nomad.address,
    ownerId: OWNER,
    env: { GRAFANA_URL: grafana.url, DOCKER_HOST: `unix://${join(root, "no-docker.sock")}` },
  };
  let killsMidWork = 0;
  let lockRefusals = 0;
  let edits = 0;
  let deletes = 0;
  const maxDelay = options.maxKillDelayMs ?? 1_500;

  for (let kill = 0; kill < options.kills; kill++) {
    if (kill > 0) {
      // Work for this round: edits (a new run), deletions, files back, runs finishing.
      const changes = Math.max(1, Math.round(options.count * 0.03));
      for (let i = 0; i < changes; i++) {
        const name = names[below(random, names.length)] as string;
        const roll = random();
        if (roll < 0.5 && present.has(name)) {
          epoch.set(name, (epoch.get(name) ?? 0) + 1);
          writeFileSync(join(dir, `${name}.yaml`), doc(name, epoch.get(name) ?? 0));
          edits++;
        } else if (roll < 0.75 && present.has(name)) {
          rmSync(join(dir, `${name}.yaml`));
          present.delete(name);
          deletes++;
        } else if (!present.has(name)) {
          writeFileSync(join(dir, `${name}.yaml`), doc(name, epoch.get(name) ?? 0));
          present.add(name);
        } else {
          for (const alloc of nomad.state.jobAllocs("default", name)) {
            if (alloc.ClientStatus === "pending") nomad.lifecycle.running(alloc.ID);
            else if (alloc.ClientStatus === "running") nomad.lifecycle.exit(alloc.ID, { exitCode: 0 });
          }
        }
      }
    }
    const op = startOperator(args);
    const up = await op.line(/"operator starting"/, 60_000);
    if (!up) {
      const code = await op.exited;
      if (code === 75) lockRefusals++;
      options.progress?.(`kill ${kill}: exited ${code} before starting: ${op.lines.slice(-3).join(" | ")}`);
      continue;
    }
    if (random() < 0.5) {
      // At a random moment; or (the other half) as soon as this round's Nomad writes begin: a faster
      // operator finishes a round's few changes within milliseconds, and random moments alone then
      // land after them.
      await new Promise((resolve) => setTimeout(resolve, below(random, maxDelay)));
    } else {
      const start = nomad.writes;
      const deadline = Date.now() + maxDelay;
      while (nomad.writes === start && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    const writesBefore = nomad.writes;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const busy = nomad.writes > writesBefore;
    const code = await op.kill();
    if (busy) killsMidWork++;
    options.progress?.(
      `kill ${kill + 1}/${options.kills}: ${code}, ${busy ? "mid-work" : "idle"}, ${nomad.writes} Nomad writes so far`,
    );
  }

  const final = startOperator(args, true);
  const finalExit = await final.exited;
  if (finalExit === 75) lockRefusals++;
  if (finalExit !== 0)
    options.progress?.(`final --once exited ${finalExit}: ${final.lines.slice(-5).join(" | ")}`);
  return {
    seed: options.seed,
    count: options.count,
    kills: options.kills,
    killsMidWork,
    lockRefusals,
    edits,
    deletes,
    finalExit,
    declared: present.size,
    ...check(nomad, grafana, stateDir, present),
    wallMs: performance.now() - started,
  };
}

function check(nomad: NomadDouble, grafana: GrafanaDouble, stateDir: string, present: ReadonlySet<string>) {
  const missing: string[] = [];
  const orphans: string[] = [];
  const tornStatus: string[] = [];
  const unannotated: string[] = [];
  const live = new Map<string, string | undefined>();
  for (const record of nomad.state.jobs.values()) {
    const job = record.job;
    if (job.Meta?.mlops_owner_id !== OWNER) continue;
    live.set(job.ID, job.Meta?.mlops_run_id);
    if (!present.has(job.ID)) orphans.push(job.ID);
  }
  const annotations = new Map<string, number>();
  for (const a of grafana.state.annotations.values()) {
    const run = a.tags.find((t) => t.startsWith("run:"));
    if (run) annotations.set(run.slice(4), (annotations.get(run.slice(4)) ?? 0) + 1);
  }
  for (const name of present) {
    const path = join(stateDir, "status", "trainingjob", "default", `${name}.json`);
    let runId: string | undefined;
    try {
      const record = JSON.parse(readFileSync(path, "utf8")) as { status?: { run?: { id?: string } } };
      runId = record.status?.run?.id;
    } catch {
      tornStatus.push(name);
    }
    if (!live.has(name) || live.get(name) !== runId) missing.push(name);
    if (runId && !annotations.has(runId)) unannotated.push(name);
  }
  for (const file of walk(join(stateDir, "status"))) {
    try {
      JSON.parse(readFileSync(file, "utf8"));
    } catch {
      if (!file.endsWith(".tmp")) tornStatus.push(file);
    }
  }
  const runs = new Map<string, Set<string>>();
  for (const request of nomad.requests) {
    const job = (request.body as { Job?: { ID?: string; Meta?: Record<string, string> } } | undefined)?.Job;
    if (request.method !== "POST" || !job?.Meta?.mlops_run_id || request.route.includes("plan")) continue;
    // One run per generation of one spec: a file deleted and written back with another spec starts
    // at generation 1 again, with another run-spec hash, and is rightly another run.
    const at = `${job.ID}@g${job.Meta.mlops_generation}/${job.Meta.mlops_run_spec_hash}`;
    const set = runs.get(at) ?? new Set<string>();
    set.add(job.Meta.mlops_run_id);
    runs.set(at, set);
  }
  return {
    missing,
    orphans,
    duplicateRuns: [...runs].filter(([, ids]) => ids.size > 1).map(([at]) => at),
    tornStatus,
    duplicateAnnotations: [...annotations].filter(([, n]) => n > 1).map(([run]) => run),
    unannotated,
    tempFiles: walk(stateDir).filter((f) => f.endsWith(".tmp") || /lock\.stale\./.test(f)),
    strayState: [
      ...walk(join(stateDir, "status", "trainingjob", "default")),
      ...walk(join(stateDir, "events", "trainingjob", "default")),
    ].filter((f) => !f.endsWith(".tmp") && !present.has(basename(f).replace(/\.jsonl?$/, ""))),
  };
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}
