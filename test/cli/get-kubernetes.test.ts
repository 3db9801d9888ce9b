// `get` and `get -w` in Kubernetes mode against the Kubernetes API double with the real client: a
// list, one object, -A and -o json from the API; and for -w the table from
// the list, then one line per change in the order the API server sent them, a re-list after 410 Gone
// that prints only what changed meanwhile, a Kubernetes context chosen without flags, a refused first
// list as an error, and `mlopsctl get tj -w` following the context `mlopsctl run --source kubernetes`
// recorded, ended by Ctrl-C (exit 130, as in directory mode); `wait` following the API.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { get, getWatch } from "../../src/cli/commands/get.ts";
import { waitFor } from "../../src/cli/commands/wait.ts";
import { recordContext } from "../../src/cli/context.ts";
import { ExitError } from "../../src/cli/exit.ts";
import { KubernetesDouble, mlopsStack, trainingJob, writeKubeconfig } from "../doubles/kubernetes/index.ts";
import { startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);

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

describe("get in Kubernetes mode", () => {
  beforeEach(() => {
    for (const o of kube.state.list("trainingjobs"))
      kube.state.delete("trainingjobs", o.metadata.namespace, o.metadata.name);
  });

  it("lists from the API: a namespace, every namespace, one object, -o json, and not found", async () => {
    kube.create(trainingJob("mnist", "ml"));
    kube.state.writeStatus("trainingjobs", "ml", "mnist", { status: { phase: "Running" } }, true);
    kube.create(trainingJob("bert", "other"));
    const inMl = (await get("tj", undefined, { kubeconfig, namespace: "ml" })).trimEnd().split("\n");
    expect(inMl).toHaveLength(2);
    expect(inMl[0]).toMatch(/^NAME\s+PHASE\s+READY\s+AGE$/);
    expect(inMl[1]).toMatch(/^mnist\s+Running\s+Unknown\s+\d+s$/);
    const all = (await get("tj", undefined, { kubeconfig, allNamespaces: true })).trimEnd().split("\n");
    expect(all[0]).toMatch(/^NAMESPACE\s+NAME\s+PHASE/);
    expect(all.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join("/"))).toEqual(["ml/mnist", "other/bert"]);
    expect(await get("tj", "mnist", { kubeconfig, namespace: "ml" })).toMatch(/^NAME.*\nmnist\s+Running/);
    const one = JSON.parse(await get("tj", "mnist", { kubeconfig, namespace: "ml", output: "json" }));
    expect(one).toMatchObject({
      kind: "TrainingJob",
      metadata: { name: "mnist" },
      status: { phase: "Running" },
    });
    const list = JSON.parse(await get("tj", undefined, { kubeconfig, namespace: "ml", output: "json" }));
    expect(list).toMatchObject({ kind: "List", items: [{ metadata: { name: "mnist" } }] });
    await expect(get("tj", "gone", { kubeconfig, namespace: "ml" })).rejects.toThrow(ExitError);
    await expect(get("tj", "gone", { kubeconfig, namespace: "ml" })).rejects.toThrow(
      'trainingjobs "gone" not found in namespace ml',
    );
  });
});

describe("wait in Kubernetes mode", () => {
  const io = (signal: AbortSignal, out: string[]) => ({
    signal,
    out: (t: string) => out.push(t),
    err: (t: string) => out.push(t),
    style: { live: false, color: false },
  });

  it("follows the object through the API until the phase is reached; met at once; a timeout; an impossible wait", {
    timeout: 20_000,
  }, async () => {
    kube.create(trainingJob("waited", "ml"));
    const out: string[] = [];
    const done = waitFor(
      "tj",
      "waited",
      { kubeconfig, namespace: "ml", for: "phase=Succeeded", timeout: "10s" },
      io(new AbortController().signal, out),
    );
    await new Promise((r) => setTimeout(r, 300));
    kube.state.writeStatus("trainingjobs", "ml", "waited", { status: { phase: "Running" } }, true);
    await new Promise((r) => setTimeout(r, 100));
    kube.state.writeStatus("trainingjobs", "ml", "waited", { status: { phase: "Succeeded" } }, true);
    await done;
    expect(out.at(-1)).toBe("trainingjob.mlops.dev/waited condition met\n");
    expect(out.some((l) => l.includes("Running"))).toBe(true);

    const again: string[] = [];
    await waitFor(
      "tj",
      "waited",
      { kubeconfig, namespace: "ml", for: "phase=Succeeded" },
      io(new AbortController().signal, again),
    );
    expect(again.at(-1)).toBe("trainingjob.mlops.dev/waited condition met\n");

    const timedOut = waitFor(
      "tj",
      "absent",
      { kubeconfig, namespace: "ml", for: "phase=Succeeded", timeout: "500ms" },
      io(new AbortController().signal, []),
    );
    await expect(timedOut).rejects.toThrow(/timed out waiting for phase=Succeeded on trainingjobs\/absent/);

    kube.state.writeStatus("trainingjobs", "ml", "waited", { status: { phase: "Failed" } }, true);
    const impossible = waitFor(
      "tj",
      "waited",
      { kubeconfig, namespace: "ml", for: "phase=Succeeded", timeout: "5s" },
      io(new AbortController().signal, []),
    );
    await expect(impossible).rejects.toBeInstanceOf(ExitError);
  });
});

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

  it("prints the header with the first line when the watch began with nothing to list", {
    timeout: 20_000,
  }, async () => {
    const controller = new AbortController();
    let out = "";
    const done = getWatch(
      "tj",
      { kubeconfig, namespace: "quiet" },
      { signal: controller.signal, write: (t) => (out += t) },
    );
    await new Promise((r) => setTimeout(r, 200)); // listed (nothing) and watching
    kube.create(trainingJob("first", "quiet"));
    const all = await lines(() => out, 2);
    controller.abort();
    await done;
    kube.state.delete("trainingjobs", "quiet", "first");
    expect(all[0]).toMatch(/^NAME\s+PHASE\s+READY\s+AGE$/);
    expect(all[1]).toMatch(/^first\s+Unknown\s+\d+s$/);
    expect(all).toHaveLength(2);
  });

  it("follows a Kubernetes context without flags (mlopsstacks here)", { timeout: 20_000 }, async () => {
    const keys = ["XDG_STATE_HOME", "MLOPSCTL_CONTEXT", "MLOPS_STATE_DIR"] as const;
    const saved = keys.map((key) => [key, process.env[key]] as const);
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
      // Gone before the CLI test below runs the operator on this double: a stack here would be
      // brought up on the machine's real Docker engine.
      kube.state.delete("mlopsstacks", "ml", "platform");
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
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

  it("after `mlopsctl run --source kubernetes --kubeconfig`, `mlopsctl get tj -w` follows its context and ends on Ctrl-C", {
    timeout: 60_000,
  }, async () => {
    const nomad = await startNomadDouble({ namespaces: ["ml"] });
    try {
      kube.create(trainingJob("cli", "ml"));
      expect(kube.state.list("mlopsstacks", "ml")).toEqual([]); // no stack brought up on real Docker
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        XDG_STATE_HOME: dir,
        MLOPSCTL_CONTEXT: "",
        NO_COLOR: "1",
      };
      delete env.MLOPS_STATE_DIR;
      const run = ["run", "--source", "kubernetes", "--kubeconfig", kubeconfig, "--once"];
      run.push("--state-dir", join(dir, "run-state"), "--scheduler", "nomad", "--nomad-addr", nomad.address);
      await exec(CLI, [...run, "--owner-id", "get-watch-kube"], { timeout: 45_000, env });
      const child = spawn(CLI, ["get", "tj", "-w", "-n", "ml"], { env });
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.stderr.on("data", (chunk) => (err += chunk));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      await lines(() => out, 2);
      kube.state.writeStatus("trainingjobs", "ml", "cli", { status: { phase: "Succeeded" } }, true);
      const all = await lines(() => out, 3);
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(err).toContain('context "kubernetes-current" (kubernetes');
      expect(all[1]).toMatch(/^cli\s+Pending\s+False\s+\d+s$/);
      expect(all[2]).toMatch(/^cli\s+Succeeded\s+False\s+\d+s$/);
    } finally {
      await nomad.close();
    }
  });
});
