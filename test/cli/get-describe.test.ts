import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import type { MlopsStack, TrainingJob, TrainingQueue } from "../../src/api/resources.ts";
import { registerDescribe } from "../../src/cli/commands/describe.ts";
import { registerGet } from "../../src/cli/commands/get.ts";
import { ExitError } from "../../src/cli/exit.ts";
import { humanDuration, table, titleCase } from "../../src/cli/output.ts";
import { EventLog, StateStore } from "../../src/sources/state/index.ts";
import { captured } from "./captured.ts";

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = new Command("mlopsctl").exitOverride();
  registerGet(program);
  registerDescribe(program);
  const r = await captured(() => program.parseAsync(args, { from: "user" }));
  if (r.error === undefined) return { code: r.exitCode ?? 0, out: r.out, err: r.err };
  if (!(r.error instanceof ExitError)) throw r.error;
  return { code: r.error.code, out: r.out, err: `${r.err}${r.error.message}\n` };
}

let root: string;
let dir: string;
let stateDir: string;
const created = new Date(Date.now() - (3 * 3600 + 10) * 1000).toISOString();

function job(name: string, namespace = "default"): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace, generation: 2, creationTimestamp: created, labels: { team: "vision" } },
    spec: {
      image: "registry.local/mnist:1",
      replicas: 1,
      resources: { cpu: 500, memoryMB: 1024, gpus: 0 },
      priority: 50,
      backoffLimit: 3,
      suspend: false,
    },
  };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "mlops-get-test-"));
  dir = join(root, "repo");
  mkdirSync(dir);
  stateDir = join(root, ".mlops-state", "repo");
  const store = new StateStore(stateDir);
  const at = "2026-01-01T00:00:00.000Z";
  await store.writeStatus(job("mnist"), {
    phase: "Running",
    observedGeneration: 2,
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Running",
        message: "2/2 replicas running",
        lastTransitionTime: at,
        observedGeneration: 2,
      },
      {
        type: "Reconciling",
        status: "False",
        reason: "Running",
        message: "",
        lastTransitionTime: at,
        observedGeneration: 2,
      },
    ],
    run: {
      id: "r-7f3a",
      scheduler: "nomad",
      attempts: [
        {
          attempt: 1,
          startTime: "2026-01-01T00:00:00Z",
          completionTime: "2026-01-01T00:10:00Z",
          reason: "NodeLost",
          counted: "infra",
        },
        {
          attempt: 2,
          startTime: "2026-01-01T00:11:00Z",
          completionTime: "2026-01-01T00:12:00Z",
          reason: "Preempted",
          counted: "infra",
          preemptedBy: "default/urgent",
        },
        { attempt: 3, startTime: "2026-01-01T00:20:00Z" },
      ],
    },
    progress: { ratio: 0.456, epoch: 9, updatedAt: at },
  });
  await store.writeStatus(job("resnet"), {
    phase: "Pending",
    conditions: [
      {
        type: "Ready",
        status: "False",
        reason: "WaitingForStack",
        message: "stack platform is not Ready",
        lastTransitionTime: at,
      },
    ],
  });
  await store.writeStatus(job("bert", "nlp"), { phase: "Succeeded" });
  const stack: MlopsStack = {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "MlopsStack",
    metadata: { name: "platform", namespace: "default", generation: 1, creationTimestamp: created },
    spec: {} as MlopsStack["spec"],
  };
  await store.writeStatus(stack, {
    conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: at }],
    endpoints: { consul: { host: "http://127.0.0.1:8500" }, nomad: { host: "http://127.0.0.1:4646" } },
  });
  const events = new EventLog(stateDir);
  const key = "TrainingJob/default/mnist" as const;
  events.event(key, "Normal", "Submitted", "submitted run r-7f3a to nomad");
  events.event(key, "Warning", "Restarting", "replica 1 restarted");
  events.event(key, "Warning", "Restarting", "replica 1 restarted");
  await events.close();
  await store.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("mlopsctl get", () => {
  it("tables like kubectl, the state directory derived from --dir", async () => {
    const r = await cli("get", "trainingjobs", "--dir", dir);
    expect(r).toEqual({
      code: 0,
      err: "",
      out: "NAME     PHASE     READY   AGE\nmnist    Running   True    3h\nresnet   Pending   False   3h\n",
    });
  });

  it("-o wide adds RUN, SCHEDULER, RESTARTS, REASON, PROGRESS, QUEUE, POSITION; short names work", async () => {
    const r = await cli("get", "tj", "-o", "wide", "--state-dir", stateDir);
    expect(r.out.split("\n")).toEqual([
      "NAME     PHASE     READY   AGE   RUN      SCHEDULER   RESTARTS   REASON            PROGRESS      QUEUE    POSITION",
      "mnist    Running   True    3h    r-7f3a   nomad       0/2        Running           45% epoch 9   <none>   <none>",
      "resnet   Pending   False   3h    <none>   <none>      0/0        WaitingForStack   <none>        <none>   <none>",
      "",
    ]);
  });

  it("-A adds NAMESPACE; -n picks one", async () => {
    const all = await cli("get", "tj", "-A", "--state-dir", stateDir);
    expect(all.out.split("\n")[0]).toBe("NAMESPACE   NAME     PHASE       READY     AGE");
    expect(all.out).toContain("nlp         bert     Succeeded   Unknown   3h");
    const nlp = await cli("get", "tj", "-n", "nlp", "--state-dir", stateDir);
    expect(nlp.out).toBe("NAME   PHASE       READY     AGE\nbert   Succeeded   Unknown   3h\n");
  });

  it("-A skips files and directories in the state directory the operator would not name", async () => {
    // A person's copy or a stray directory: not DNS-1123 names, so no record of ours.
    copyFileSync(
      join(stateDir, "status/trainingjob/default/mnist.json"),
      join(stateDir, "status/trainingjob/default/Mnist copy.json"),
    );
    mkdirSync(join(stateDir, "status/trainingjob/Old Stuff"), { recursive: true });
    writeFileSync(join(stateDir, "status/trainingjob/Old Stuff/x.json"), "{}");
    try {
      const all = await cli("get", "tj", "-A", "--state-dir", stateDir);
      expect(all.code).toBe(0);
      expect(
        all.out
          .split("\n")
          .slice(1, -1)
          .map((l) => l.split(/ +/).slice(0, 2).join("/")),
      ).toEqual(["default/mnist", "default/resnet", "nlp/bert"]);
    } finally {
      rmSync(join(stateDir, "status/trainingjob/default/Mnist copy.json"));
      rmSync(join(stateDir, "status/trainingjob/Old Stuff"), { recursive: true });
    }
  });

  it("MLOPS_STATE_DIR is used without flags", async () => {
    vi.stubEnv("MLOPS_STATE_DIR", stateDir);
    try {
      expect((await cli("get", "ms", "-o", "wide")).out).toBe(
        "NAME       READY   AGE   ENDPOINTS\nplatform   True    3h    consul=http://127.0.0.1:8500,nomad=http://127.0.0.1:4646\n",
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("-o json prints the resource; a list is a List", async () => {
    const one = JSON.parse((await cli("get", "tj", "mnist", "-o", "json", "--state-dir", stateDir)).out);
    expect(one).toMatchObject({
      apiVersion: "mlops.dev/v1alpha1",
      kind: "TrainingJob",
      metadata: { name: "mnist", namespace: "default", generation: 2, labels: { team: "vision" } },
      spec: { image: "registry.local/mnist:1" },
      status: { phase: "Running", run: { id: "r-7f3a" } },
    });
    const list = parse((await cli("get", "trainingjob", "-o", "yaml", "--state-dir", stateDir)).out);
    expect(list.kind).toBe("List");
    expect(list.apiVersion).toBe("v1");
    expect(list.items.map((i: TrainingJob) => i.metadata.name)).toEqual(["mnist", "resnet"]);
  });

  it.each([
    { args: ["get", "pods"], code: 64, err: /unknown resource type "pods"/ },
    { args: ["get", "tj", "-o", "xml"], code: 64, err: /unknown output format "xml"/ },
    { args: ["get", "tj", "../../etc"], code: 64, err: /invalid name "\.\.\/\.\.\/etc"/ },
    { args: ["get", "tj", "missing"], code: 1, err: /trainingjobs "missing" not found in namespace default/ },
  ])("$args → exit $code", async ({ args, code, err }) => {
    const r = await cli(...args, "--state-dir", stateDir);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(err);
  });

  it("no resources: a kubectl-like message on stderr with a hint when the state directory is missing", async () => {
    const r = await cli("get", "tj", "--state-dir", join(root, "nothing"));
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      /^No resources found in default namespace\. \(state directory .*nothing does not exist/,
    );
  });
});

describe("mlopsctl describe", () => {
  it("prints metadata, spec, status, conditions and events", async () => {
    const r = await cli("describe", "tj", "mnist", "--dir", dir);
    expect(r.code).toBe(0);
    const out = r.out;
    expect(out).toContain("Name:         mnist\nNamespace:    default\nLabels:       team=vision\n");
    expect(out).toContain("Kind:         TrainingJob\nGeneration:   2\n");
    expect(out).toContain("Spec:\n");
    expect(out).toContain("  Image:          registry.local/mnist:1\n");
    expect(out).toContain("  Resources:\n    Cpu:        500\n    Memory MB:  1024\n");
    expect(out).toContain("Status:\n  Phase:                Running\n  Observed Generation:  2\n");
    expect(out).toContain(
      "Conditions:\n  Type          Status   Reason    Message                Last Transition Time\n  ----          ------   ------    -------                --------------------\n  Ready         True     Running   2/2 replicas running   2026-01-01T00:00:00.000Z\n",
    );
    expect(out).toContain(
      [
        "Attempts:",
        "  Attempt   Start                  End                    Exit Code   Reason                         Counted",
        "  -------   -----                  ---                    ---------   ------                         -------",
        "  1         2026-01-01T00:00:00Z   2026-01-01T00:10:00Z               NodeLost                       infra",
        "  2         2026-01-01T00:11:00Z   2026-01-01T00:12:00Z               Preempted for default/urgent   infra",
        "  3         2026-01-01T00:20:00Z   <running>",
      ].join("\n"),
    );
    expect(out.match(/Attempts:/g)).toHaveLength(1);
    expect(out).toMatch(
      /Events:\n {2}Type {6}Reason {7}Age +From {13}Message\n {2}---- {6}------ {7}--- +---- {13}-------\n/,
    );
    expect(out).toMatch(
      /\n {2}Normal {4}Submitted {4}\d+s +mlops-operator {3}submitted run r-7f3a to nomad\n/,
    );
    expect(out).toMatch(
      /\n {2}Warning {3}Restarting {3}\d+s \(x2 over \d+s\) +mlops-operator {3}replica 1 restarted\n$/,
    );
  });

  it("no events and no conditions say <none>", async () => {
    const r = await cli("describe", "ms", "platform", "--state-dir", stateDir);
    expect(r.out).toContain("Events:       <none>\n");
    const bert = await cli("describe", "trainingjob", "bert", "-n", "nlp", "--state-dir", stateDir);
    expect(bert.out).toContain("Conditions:   <none>\n");
  });

  it("a missing resource exits 1 naming it", async () => {
    const r = await cli("describe", "tj", "ghost", "--state-dir", stateDir);
    expect(r).toMatchObject({ code: 1, out: "" });
    expect(r.err).toContain('TrainingJob "ghost" not found in namespace default');
  });
});

describe("mlopsctl describe tq", () => {
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
  const at = "2026-01-01T00:00:00.000Z";
  const admittedCondition = (status: "True" | "False", reason: string) => ({
    type: "Admitted",
    status,
    reason,
    message: "",
    lastTransitionTime: at,
  });
  function queuedJob(
    name: string,
    options: { namespace?: string; priority?: number; replicas?: number; gpus?: number } = {},
  ): TrainingJob {
    const base = job(name, options.namespace ?? "team-a");
    return {
      ...base,
      spec: {
        ...base.spec,
        queue: "gpus",
        priority: options.priority ?? 50,
        replicas: options.replicas ?? 1,
        resources: { cpu: 500, memoryMB: 1024, gpus: options.gpus ?? 1 },
      },
    };
  }
  let queueState: string;

  beforeAll(async () => {
    queueState = join(root, "queue-state");
    const store = new StateStore(queueState);
    const queue: TrainingQueue = {
      apiVersion: "mlops.dev/v1alpha1",
      kind: "TrainingQueue",
      metadata: { name: "gpus", namespace: "team-a", generation: 1, creationTimestamp: created },
      spec: { quota: { gpus: 4 } } as TrainingQueue["spec"],
    };
    await store.writeStatus(queue, { usage: { gpus: 3 }, pending: 3, admitted: 2 });
    const empty = { ...queue, metadata: { ...queue.metadata, name: "idle" } };
    await store.writeStatus(empty, { pending: 0, admitted: 0 });
    const admitted = (admittedAt: string) => ({ name: "gpus", queuedAt: minutesAgo(30), admittedAt });
    // Written in an order unlike the one printed: admitted by time, waiting by position.
    await store.writeStatus(queuedJob("late", { replicas: 2 }), {
      phase: "Running",
      queue: admitted(minutesAgo(5)),
      conditions: [admittedCondition("True", "Admitted")],
    });
    await store.writeStatus(queuedJob("early"), {
      phase: "Pending",
      queue: admitted(minutesAgo(20)),
      conditions: [admittedCondition("True", "Admitted")],
    });
    await store.writeStatus(queuedJob("huge", { gpus: 8 }), {
      phase: "Queued",
      queue: { name: "gpus", queuedAt: minutesAgo(50) },
      conditions: [admittedCondition("False", "QuotaExceeded")],
    });
    await store.writeStatus(queuedJob("second"), {
      phase: "Queued",
      queue: { name: "gpus", position: 2, queuedAt: minutesAgo(12) },
      conditions: [admittedCondition("False", "WaitingForQuota")],
    });
    await store.writeStatus(queuedJob("first", { priority: 90 }), {
      phase: "Queued",
      queue: { name: "gpus", position: 1, queuedAt: minutesAgo(2) },
      conditions: [admittedCondition("False", "WaitingForQuota")],
    });
    // Not the queue's: a finished run (no Admitted condition), another queue's, another namespace's.
    await store.writeStatus(queuedJob("done"), { phase: "Succeeded", queue: admitted(minutesAgo(40)) });
    await store.writeStatus(queuedJob("elsewhere"), {
      phase: "Queued",
      queue: { name: "cpus", position: 1, queuedAt: minutesAgo(1) },
      conditions: [admittedCondition("False", "WaitingForQuota")],
    });
    await store.writeStatus(queuedJob("neighbour", { namespace: "team-b" }), {
      phase: "Queued",
      queue: { name: "gpus", position: 1, queuedAt: minutesAgo(1) },
      conditions: [admittedCondition("False", "WaitingForQuota")],
    });
    await store.close();
  });

  it("lists the runs it admitted (earliest first) and those waiting (position 1 first, then the never admissible)", async () => {
    const r = await cli("describe", "tq", "gpus", "-n", "team-a", "--state-dir", queueState);
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    const from = lines.indexOf("Admitted Runs:");
    expect(from).toBeGreaterThan(0);
    expect(lines.slice(from, from + 11)).toEqual([
      "Admitted Runs:",
      "  Job     Priority   Request                                Phase     Admitted",
      "  ---     --------   -------                                -----     --------",
      "  early   50         gpus=1,cpu=500,memoryMB=1024,runs=1    Pending   20m ago",
      "  late    50         gpus=2,cpu=1000,memoryMB=2048,runs=1   Running   5m ago",
      "Waiting Runs (position 1 is admitted next):",
      "  Position   Job      Priority   Request                               Reason            Waiting",
      "  --------   ---      --------   -------                               ------            -------",
      "  1          first    90         gpus=1,cpu=500,memoryMB=1024,runs=1   WaitingForQuota   2m",
      "  2          second   50         gpus=1,cpu=500,memoryMB=1024,runs=1   WaitingForQuota   12m",
      "  -          huge     50         gpus=8,cpu=500,memoryMB=1024,runs=1   QuotaExceeded     50m",
    ]);
    expect(lines[from + 11]).toMatch(/^Events:/);
    expect(r.out).not.toMatch(/done|elsewhere|neighbour/);
  });

  it("a queue nothing names says <none> for both; a TrainingJob has neither section", async () => {
    const idle = await cli("describe", "trainingqueue", "idle", "-n", "team-a", "--state-dir", queueState);
    expect(idle.out).toContain("Admitted Runs:  <none>\nWaiting Runs:   <none>\nEvents:");
    const tj = await cli("describe", "tj", "first", "-n", "team-a", "--state-dir", queueState);
    expect(tj.code).toBe(0);
    expect(tj.out).not.toContain("Admitted Runs");
  });
});

describe("output helpers", () => {
  it.each([
    [0, "0s"],
    [-1500, "0s"],
    [-5000, "<invalid>"],
    [119_000, "119s"],
    [120_000, "2m"],
    [150_000, "2m30s"],
    [600_000, "10m"],
    [179 * 60_000, "179m"],
    [3 * 3600_000, "3h"],
    [(5 * 60 + 30) * 60_000, "5h30m"],
    [47 * 3600_000, "47h"],
    [(3 * 24 + 4) * 3600_000, "3d4h"],
    [400 * 86_400_000, "400d"],
    [(2 * 365 + 30) * 86_400_000, "2y30d"],
    [9 * 365 * 86_400_000, "9y"],
  ])("humanDuration(%i) = %s", (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });

  it.each([
    ["memoryMB", "Memory MB"],
    ["observedGeneration", "Observed Generation"],
    ["shmSizeMB", "Shm Size MB"],
    ["image", "Image"],
  ])("titleCase(%s) = %s", (key, want) => {
    expect(titleCase(key)).toBe(want);
  });

  it("table pads columns with three spaces and trims line ends", () => {
    expect(
      table(
        ["A", "LONGER"],
        [
          ["xyz", ""],
          ["1", "2"],
        ],
      ),
    ).toBe("A     LONGER\nxyz\n1     2\n");
  });

  it("the default state directory sits beside the watched one", () => {
    expect(basename(stateDir)).toBe(basename(dir));
  });
});
