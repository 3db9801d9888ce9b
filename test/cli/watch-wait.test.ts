import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TrainingJob, TrainingJobStatus } from "../../src/api/resources.ts";
import { getWatch } from "../../src/cli/commands/get.ts";
import { waitFor } from "../../src/cli/commands/wait.ts";
import { ExitError } from "../../src/cli/exit.ts";
import { styleOf } from "../../src/cli/terminal.ts";
import { StateStore } from "../../src/sources/state/index.ts";

let stateDir: string;
let store: StateStore;

function job(name: string, generation = 1): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace: "default", generation, creationTimestamp: new Date().toISOString() },
    spec: {
      image: "registry.local/mnist:1",
      replicas: 2,
      resources: { cpu: 500, memoryMB: 1024, gpus: 0 },
      priority: 50,
      backoffLimit: 3,
      suspend: false,
    },
  };
}

function status(
  phase: NonNullable<TrainingJobStatus["phase"]>,
  ready: "True" | "False",
  reason: string,
  message = "",
): TrainingJobStatus {
  return {
    phase,
    observedGeneration: 1,
    conditions: [
      {
        type: "Ready",
        status: ready,
        reason,
        message,
        lastTransitionTime: new Date().toISOString(),
        observedGeneration: 1,
      },
    ],
    run: { id: "r1", replicas: [{ index: 0, state: phase === "Running" ? "running" : "pending" }] },
  };
}

async function write(name: string, s: TrainingJobStatus): Promise<void> {
  await store.writeStatus(job(name), s);
  await store.flush();
}

/** Resolves when `collected()` contains `text`, polling every 10 ms (bounded by the test timeout). */
async function until(collected: () => string, text: string): Promise<void> {
  while (!collected().includes(text)) await new Promise((r) => setTimeout(r, 10));
}

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), "mlops-watch-test-"));
  store = new StateStore(stateDir);
});
afterEach(async () => {
  await store.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const plain = { live: false, color: false };

describe("get -w", () => {
  it("prints the table, then one aligned line per change, until aborted", { timeout: 10_000 }, async () => {
    await write("mnist", status("Pending", "False", "Submitted"));
    const controller = new AbortController();
    let out = "";
    const done = getWatch(
      "tj",
      { stateDir },
      { signal: controller.signal, write: (t) => (out += t), pollMs: 5000 },
    );
    await until(() => out, "mnist");
    await write("mnist", status("Running", "True", "Running"));
    await until(() => out, "Running");
    await write("resnet", status("Pending", "False", "Scheduling"));
    await until(() => out, "resnet");
    controller.abort();
    await done;
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+PHASE\s+READY\s+AGE$/);
    expect(lines[1]).toMatch(/^mnist\s+Pending\s+False\s+\d+s$/);
    expect(lines[2]).toMatch(/^mnist\s+Running\s+True\s+\d+s$/);
    expect(lines[3]).toMatch(/^resnet\s+Pending\s+False\s+\d+s$/);
    expect(lines).toHaveLength(4);
    // Later rows start their columns where the header's do.
    expect(lines[2]?.indexOf("Running")).toBe(lines[0]?.indexOf("PHASE"));
  });

  it("reports every rewrite of one record from fs.watch alone (each is a new file renamed over the old)", {
    timeout: 5_000,
  }, async () => {
    await write("mnist", status("Pending", "False", "Submitted"));
    const controller = new AbortController();
    let out = "";
    const done = getWatch(
      "tj",
      { stateDir },
      { signal: controller.signal, write: (t) => (out += t), pollMs: 3_600_000 },
    );
    await until(() => out, "mnist");
    await new Promise((r) => setTimeout(r, 50)); // the watches are set before the first rescan
    for (const [phase, reason] of [
      ["Running", "Running"],
      ["Failed", "BackoffLimitExceeded"],
      ["Pending", "Resubmitted"],
    ] as const) {
      // Counted before the write: its line may be printed before write() returns (the watch's rescan
      // can beat the store's flush, which waits for the directory's sync).
      const lines = out.split("\n").length;
      await write("mnist", status(phase, phase === "Running" ? "True" : "False", reason, reason));
      while (out.split("\n").length === lines) await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort();
    await done;
    expect(
      out
        .trimEnd()
        .split("\n")
        .map((l) => l.split(/\s+/)[1]),
    ).toEqual(["PHASE", "Pending", "Running", "Failed", "Pending"]);
  });

  it("sees changes through the poll when the status folder appears after the watch began", {
    timeout: 10_000,
  }, async () => {
    const controller = new AbortController();
    let out = "";
    const done = getWatch(
      "tj",
      { stateDir },
      { signal: controller.signal, write: (t) => (out += t), pollMs: 50 },
    );
    await new Promise((r) => setTimeout(r, 30));
    await write("late", status("Pending", "False", "Submitted"));
    await until(() => out, "late");
    controller.abort();
    await done;
    // Nothing to list at first: the header comes with the first line, as kubectl prints it.
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+PHASE\s+READY\s+AGE$/);
    expect(lines[1]).toMatch(/^late\s+Pending\s+False/);
    expect(lines[1]?.indexOf("Pending")).toBe(lines[0]?.indexOf("PHASE"));
    expect(lines).toHaveLength(2);
  });

  it("escapes names and values it prints", { timeout: 10_000 }, async () => {
    await write("mnist", status("Pending", "False", "Submitted"));
    const controller = new AbortController();
    let out = "";
    const done = getWatch(
      "tj",
      { stateDir, output: "wide" },
      { signal: controller.signal, write: (t) => (out += t) },
    );
    await until(() => out, "mnist");
    await write("mnist", status("Failed", "False", "Error\u001b[2J"));
    await until(() => out, "Failed");
    controller.abort();
    await done;
    expect(out).not.toContain("\u001b");
    expect(out).toContain("Error\\x1b[2J");
  });
});

async function runWait(name: string, forWhat: string, timeout: string, during?: () => Promise<void>) {
  let out = "";
  let err = "";
  const controller = new AbortController();
  const waiting = waitFor(
    "tj",
    name,
    { stateDir, for: forWhat, timeout },
    { signal: controller.signal, out: (t) => (out += t), err: (t) => (err += t), style: plain, pollMs: 50 },
  ).then(
    () => 0,
    (error: unknown) => {
      if (!(error instanceof ExitError)) throw error;
      err += `${error.message}\n`;
      return error.code;
    },
  );
  await during?.();
  const code = await waiting;
  return { code, out, err };
}

describe("wait", () => {
  it("exits 0 once the phase is reached, printing a line per change", { timeout: 10_000 }, async () => {
    await write("mnist", status("Pending", "False", "Submitted"));
    const result = await runWait("mnist", "phase=Succeeded", "5s", async () => {
      await new Promise((r) => setTimeout(r, 100));
      await write("mnist", status("Running", "True", "Running"));
      await new Promise((r) => setTimeout(r, 100));
      await write("mnist", status("Succeeded", "True", "Succeeded"));
    });
    expect(result.code).toBe(0);
    expect(result.out).toBe("trainingjob.mlops.dev/mnist condition met\n");
    expect(result.err).toMatch(/trainingjobs\/mnist {2}Pending {2}Ready=False Submitted {2}replicas 0\/2/);
    expect(result.err).toMatch(/trainingjobs\/mnist {2}Running {2}Ready=True Running {2}replicas 1\/2/);
    expect(result.err).not.toContain("\r");
  });

  it("exits 0 at once when the condition already holds", async () => {
    await write("mnist", status("Running", "True", "Running"));
    const result = await runWait("mnist", "condition=Ready", "1s");
    expect(result.code).toBe(0);
  });

  it("exits 1 with the reason when the run ended in a phase that cannot meet the wait", async () => {
    await write("mnist", status("Failed", "False", "OOMKilled", "replica 0 ran out of memory"));
    const result = await runWait("mnist", "phase=Succeeded", "10s");
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      "trainingjobs/mnist: phase=Succeeded can no longer be met: the run ended Failed (OOMKilled: replica 0 ran out of memory)",
    );
  });

  it("exits 1 on a timeout, naming what it waited for", { timeout: 10_000 }, async () => {
    await write("mnist", status("Pending", "False", "Scheduling"));
    const started = Date.now();
    const result = await runWait("mnist", "condition=Ready", "300ms");
    expect(result.code).toBe(1);
    expect(result.err).toContain("timed out waiting for condition=Ready on trainingjobs/mnist");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("waits for a resource that has no record yet", { timeout: 10_000 }, async () => {
    const result = await runWait("fresh", "condition=Ready", "5s", async () => {
      await new Promise((r) => setTimeout(r, 100));
      await write("fresh", status("Running", "True", "Running"));
    });
    expect(result.code).toBe(0);
  });

  it("rewrites one live line on a terminal, with colour unless NO_COLOR", { timeout: 10_000 }, async () => {
    await write("mnist", status("Running", "True", "Running"));
    let err = "";
    await waitFor(
      "tj",
      "mnist",
      { stateDir, for: "phase=Running", timeout: "1s" },
      {
        signal: new AbortController().signal,
        out: () => {},
        err: (t) => (err += t),
        style: styleOf({ isTTY: true }, {}),
      },
    );
    expect(err.startsWith("\r\u001b[2K")).toBe(true);
    expect(err).toContain("\u001b[32mRunning\u001b[0m");
    expect(styleOf({ isTTY: true }, { NO_COLOR: "1" })).toEqual({ live: true, color: false });
    expect(styleOf({ isTTY: false }, {})).toEqual({ live: false, color: false });
  });

  it("rejects a --for it does not understand as a usage error", async () => {
    const result = await runWait("mnist", "jsonpath={.x}", "1s");
    expect(result.code).toBe(64);
    expect(result.err).toContain('invalid --for "jsonpath={.x}"');
  });
});
