// `get -w` in Kubernetes mode against the Kubernetes API double with the real client: the table from
// the list, then one line per change in the order the API server sent them, a re-list after 410 Gone
// that prints only what changed meanwhile, a Kubernetes context chosen without flags, a refused first
// list as an error, and Ctrl-C ending `mlopsctl get tj -w` (exit 130, as in directory mode).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getWatch } from "../../src/cli/commands/get.ts";
import { recordContext } from "../../src/cli/context.ts";
import { KubernetesDouble, mlopsStack, trainingJob, writeKubeconfig } from "../doubles/kubernetes/index.ts";

const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;
let kube: KubernetesDouble;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  kube = new KubernetesDouble({ bookmarkMs: 100 });
  await kube.start();
  dir = mkdtempSync(join(tmpdir(), "mlops-get-watch-kube-"));
  kubeconfig = writeKubeconfig(join(dir, "kubeconfig"), kube.url);
});

afterAll(async () => {
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves when `collected()` has `count` lines, polling every 10 ms (bounded by the test timeout). */
async function lines(collected: () => string, count: number): Promise<string[]> {
  while (collected().split("\n").length - 1 < count) await new Promise((r) => setTimeout(r, 10));
  return collected().trimEnd().split("\n");
}

const lists = () =>
  kube.requests.filter(
    (r) => r.method === "GET" && r.path.endsWith("/trainingjobs") && r.query.watch === undefined,
  ).length;

describe("get -w in Kubernetes mode", () => {
  beforeEach(() => {
    for (const o of kube.state.list("trainingjobs"))
      kube.state.delete("trainingjobs", o.metadata.namespace, o.metadata.name);
  });

  it("prints the table, then a line per change in order, and re-lists after 410 Gone", {
    timeout: 20_000,
  }, async () => {
    kube.create(trainingJob("mnist", "ml"));
    kube.create(trainingJob("elsewhere", "other"));
    const controller = new AbortController();
    let out = "";
    const done = getWatch(
      "tj",
      { kubeconfig, namespace: "ml" },
      { signal: controller.signal, write: (t) => (out += t) },
    );
    await lines(() => out, 2);
    kube.create(trainingJob("resnet", "ml"));
    kube.state.writeStatus("trainingjobs", "ml", "mnist", { status: { phase: "Running" } }, true);
    kube.create(trainingJob("ignored", "other")); // another namespace
    kube.state.delete("trainingjobs", "ml", "resnet");
    await lines(() => out, 5);
    // The watch drops; while it is gone a job changes and the event window is compacted: the
    // resumed watch gets 410 Gone, lists again, and prints only what changed.
    const listsBefore = lists();
    kube.dropWatches();
    kube.create(trainingJob("bert", "ml"));
    kube.state.compact();
    const all = await lines(() => out, 6);
    controller.abort();
    await done;
    expect(lists()).toBeGreaterThan(listsBefore);
    expect(all[0]).toMatch(/^NAME\s+PHASE\s+READY\s+AGE$/);
    const rows = [
      /^mnist\s+Unknown\s+\d+s$/,
      /^resnet\s+Unknown\s+\d+s$/,
      /^mnist\s+Running\s+Unknown\s+\d+s$/,
      /^resnet\s+Unknown\s+\d+s$/, // DELETED: its last state
      /^bert\s+Unknown\s+\d+s$/, // from the re-list
    ];
    expect(all).toHaveLength(rows.length + 1);
    for (const [i, row] of rows.entries()) expect(all[i + 1]).toMatch(row);
    expect(all[3]?.indexOf("Running")).toBe(all[0]?.indexOf("PHASE"));
    expect(out).not.toContain("elsewhere");
    expect(out).not.toContain("ignored");
  });

  it("follows a Kubernetes context without flags (mlopsstacks here)", { timeout: 20_000 }, async () => {
    const saved = { ...process.env };
    process.env.XDG_STATE_HOME = dir;
    delete process.env.MLOPSCTL_CONTEXT;
    delete process.env.MLOPS_STATE_DIR;
    try {
      await recordContext({
        name: "kubernetes-double",
        source: "kubernetes",
        stateDir: join(dir, "state"),
        kubeContext: "current",
        kubeconfig,
        startedAt: new Date().toISOString(),
      });
      kube.create(mlopsStack("platform", "ml"));
      const controller = new AbortController();
      let out = "";
      const done = getWatch(
        "ms",
        { namespace: "ml" },
        { signal: controller.signal, write: (t) => (out += t) },
      );
      await lines(() => out, 2);
      kube.state.writeStatus(
        "mlopsstacks",
        "ml",
        "platform",
        {
          status: {
            conditions: [
              {
                type: "Ready",
                status: "True",
                reason: "Ready",
                message: "",
                lastTransitionTime: "2026-05-01T00:00:00Z",
              },
            ],
          },
        },
        true,
      );
      const all = await lines(() => out, 3);
      controller.abort();
      await done;
      expect(all[0]).toMatch(/^NAME\s+READY\s+AGE$/);
      expect(all[1]).toMatch(/^platform\s+Unknown\s+\d+s$/);
      expect(all[2]).toMatch(/^platform\s+True\s+\d+s$/);
    } finally {
      process.env = saved;
    }
  });

  it("ends with the API server's answer when the first list is refused", { timeout: 20_000 }, async () => {
    kube.failNext(1, { code: 403, reason: "Forbidden", method: "GET", match: /trainingjobs/ });
    const controller = new AbortController();
    const done = getWatch(
      "tj",
      { kubeconfig, namespace: "ml" },
      { signal: controller.signal, write: () => {} },
    );
    await expect(done).rejects.toThrow(/403 Forbidden/);
  });

  it("mlopsctl get tj -w --kubeconfig prints the table and a line per change, and ends on Ctrl-C", {
    timeout: 30_000,
  }, async () => {
    kube.create(trainingJob("cli", "ml"));
    const child = spawn(CLI, ["get", "tj", "-w", "-n", "ml", "--kubeconfig", kubeconfig], {
      env: { ...process.env, XDG_STATE_HOME: dir, MLOPSCTL_CONTEXT: "", NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await lines(() => out, 2);
    kube.state.writeStatus("trainingjobs", "ml", "cli", { status: { phase: "Succeeded" } }, true);
    const all = await lines(() => out, 3);
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(all[1]).toMatch(/^cli\s+Unknown\s+\d+s$/);
    expect(all[2]).toMatch(/^cli\s+Succeeded\s+Unknown\s+\d+s$/);
  });
});
