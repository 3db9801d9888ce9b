// examples/queues, as its comments tell it: `mlopsctl run` on the local Docker engine with a queue of
// one run at a time and three jobs. The most urgent starts first and the other two wait with their
// places (1, 2); each starts when the one before ended, never two at once (the containers' own
// start and finish times say so), and all three succeed. The example's runs are shortened.
import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refuseLeftoverRuns } from "./leftover-runs.ts";

const exec = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const docker = new Docker();
const owner = `it-queues-${process.pid}`;
let work = "";
let stop: (() => void) | undefined;

interface Job {
  metadata: { name: string };
  status?: { phase?: string; queue?: { name?: string; position?: number } };
}

async function jobs(): Promise<Map<string, Job>> {
  const args = ["get", "tj", "-o", "json", "--state-dir", join(work, "state")];
  const { stdout } = await exec("./bin/mlopsctl", args, { cwd: ROOT, timeout: 30_000 });
  const list = JSON.parse(stdout) as { items: Job[] };
  return new Map(list.items.map((j) => [j.metadata.name, j]));
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  // The example run by hand here holds the containers this test's run needs (leftover-runs.ts).
  const keys = ["urgent", "sweep-a", "sweep-b"].map((name) => `TrainingJob/default/${name}`);
  await refuseLeftoverRuns(
    docker,
    keys,
    owner,
    "the queue example's runs (`mlopsctl run --dir examples/queues` here?)",
  );
  work = await mkdtemp(join(tmpdir(), "mlops-queues-"));
  await cp(join(ROOT, "examples/queues"), join(work, "queues"), { recursive: true });
  const file = join(work, "queues", "jobs.yaml");
  await writeFile(
    file,
    (await readFile(file, "utf8")).replaceAll('{name: EPOCHS, value: "5"}', '{name: EPOCHS, value: "2"}'),
  );
});

afterAll(async () => {
  stop?.();
  const left = await docker.listContainers({
    all: true,
    filters: { label: [`mlops.dev/owner-id=${owner}`] },
  });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

describe("examples/queues", () => {
  it("runs the urgent job first, then the others one at a time in their places, all to success", async () => {
    const args = ["run", "--dir", join(work, "queues"), "--state-dir", join(work, "state")];
    args.push(
      ...`--scheduler docker --metrics-addr 127.0.0.1:0 --log-format json --owner-id ${owner}`.split(" "),
    );
    const operator = spawn("./bin/mlopsctl", args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const keep = (chunk: Buffer) => {
      out += chunk.toString();
    };
    operator.stdout.on("data", keep);
    operator.stderr.on("data", keep);
    stop = () => operator.kill("SIGTERM");

    // While the urgent run trains, the sweeps wait in name order.
    const waiting = await until(`urgent Running with both sweeps placed:\n${out}`, 30_000, async () => {
      const now = await jobs().catch(() => undefined);
      const place = (name: string) => now?.get(name)?.status?.queue?.position;
      if (now?.get("urgent")?.status?.phase !== "Running") return undefined;
      return place("sweep-a") !== undefined && place("sweep-b") !== undefined ? now : undefined;
    });
    for (const [name, position] of [
      ["sweep-a", 1],
      ["sweep-b", 2],
    ] as const) {
      expect(waiting.get(name)?.status).toMatchObject({
        phase: "Queued",
        queue: { name: "local", position },
      });
    }

    // describe tq says the same from the queue's side: urgent holds it, the sweeps wait in order.
    const described = await until(`describe tq local with urgent admitted:\n${out}`, 10_000, async () => {
      const args = ["describe", "tq", "local", "--state-dir", join(work, "state")];
      const { stdout } = await exec("./bin/mlopsctl", args, { cwd: ROOT, timeout: 30_000 });
      return /\n {2}urgent +90 +cpu=\d+,memoryMB=\d+,runs=1 +Running /.test(stdout) ? stdout : undefined;
    });
    expect(described).toMatch(
      /Waiting Runs \(position 1 is admitted next\):\n.*\n.*\n {2}1 +sweep-a +50 .* WaitingForQuota .*\n {2}2 +sweep-b +50 .* WaitingForQuota /,
    );

    const done = await until(`all three Succeeded:\n${out}`, 60_000, async () => {
      const now = await jobs().catch(() => undefined);
      const phases = [...(now?.values() ?? [])].map((j) => j.status?.phase);
      return phases.length === 3 && phases.every((p) => p === "Succeeded") ? now : undefined;
    });
    expect([...done.keys()].sort()).toEqual(["sweep-a", "sweep-b", "urgent"]);

    // The containers' own clock: in priority, then name order, each started after the one before ended.
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`mlops.dev/owner-id=${owner}`] },
    });
    const runs = await Promise.all(
      containers.map(async (c) => {
        const state = (await docker.getContainer(c.Id).inspect()).State;
        const key = c.Labels["mlops.dev/key"] ?? "";
        return {
          name: key.split("/")[2],
          started: Date.parse(state.StartedAt),
          finished: Date.parse(state.FinishedAt),
        };
      }),
    );
    runs.sort((a, b) => a.started - b.started);
    expect(runs.map((r) => r.name)).toEqual(["urgent", "sweep-a", "sweep-b"]);
    for (let i = 1; i < runs.length; i++) {
      const [before, after] = [runs[i - 1], runs[i]] as const;
      expect(after?.started, `${after?.name} started before ${before?.name} ended`).toBeGreaterThanOrEqual(
        before?.finished ?? Number.POSITIVE_INFINITY,
      );
    }
  }, 120_000);
});
