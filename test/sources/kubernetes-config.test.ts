// kubernetesSource() from a kubeconfig file (what `mlopsctl run --source kubernetes --kubeconfig`
// passes): cluster, bearer token and context come from the file; a bad file is a KubernetesConfig
// error naming it. Also the standalone double (main.ts) serves what --apply gave it.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { kubernetesSource, ownerIdFor } from "../../src/sources/kubernetes/index.ts";
import type { KubernetesSource } from "../../src/sources/kubernetes/source.ts";
import { KubernetesDouble, trainingJob, until, writeKubeconfig } from "../doubles/kubernetes/index.ts";

const dir = mkdtempSync(join(tmpdir(), "mlops-kubeconfig-"));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("kubernetesSource(options)", () => {
  it("reads the cluster and token from --kubeconfig", async () => {
    const double = new KubernetesDouble({ token: "from-file" });
    const url = await double.start();
    cleanups.push(() => double.close());
    double.create(trainingJob("a"));
    const path = writeKubeconfig(join(dir, "ok.kubeconfig"), url, { token: "from-file" });
    const source: KubernetesSource = kubernetesSource({
      kubeconfig: path,
      finalizer: false,
      startTimeoutMs: 3_000,
    });
    cleanups.push(() => source.close());
    await source.start();
    expect(source.get("TrainingJob/ml/a")?.metadata.name).toBe("a");
    expect(source.defaultOwnerId).toBe(ownerIdFor(url));
    expect(double.requests.every((r) => r.path.startsWith("/apis/mlops.dev/v1alpha1/"))).toBe(true);
  });

  it("a missing or empty kubeconfig is a KubernetesConfig error naming the file", () => {
    const missing = join(dir, "nope.kubeconfig");
    expect(() => kubernetesSource({ kubeconfig: missing })).toThrow(
      expect.objectContaining({ reason: "KubernetesConfig" }),
    );
    expect(() => kubernetesSource({ kubeconfig: missing })).toThrow(missing);
    const empty = join(dir, "empty.kubeconfig");
    writeFileSync(empty, "apiVersion: v1\nkind: Config\n");
    expect(() => kubernetesSource({ kubeconfig: empty })).toThrow(/no cluster for the current context/);
  });

  it("a wrong token fails start() with 401 named", async () => {
    const double = new KubernetesDouble({ token: "right" });
    const url = await double.start();
    cleanups.push(() => double.close());
    const source = kubernetesSource({
      kubeconfig: writeKubeconfig(join(dir, "wrong.kubeconfig"), url, { token: "wrong" }),
      startTimeoutMs: 300,
    });
    cleanups.push(() => source.close());
    await expect(source.start()).rejects.toThrow(/401 Unauthorized/);
  });

  it("the standalone double writes a kubeconfig and serves the --apply documents", async () => {
    const manifest = join(dir, "jobs.yaml");
    writeFileSync(
      manifest,
      `${JSON.stringify(trainingJob("from-file"))}\n---\n${JSON.stringify(trainingJob("two"))}\n`,
    );
    const kubeconfig = join(dir, "main.kubeconfig");
    const child = spawn(
      process.execPath,
      [
        new URL("../doubles/kubernetes/main.ts", import.meta.url).pathname,
        "--kubeconfig",
        kubeconfig,
        "--apply",
        manifest,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    cleanups.push(async () => {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    await until("the URL", () => out.includes("\n"), 10_000);
    const source = kubernetesSource({ kubeconfig, finalizer: false, startTimeoutMs: 3_000 });
    cleanups.push(() => source.close());
    await source.start();
    expect(
      source
        .list("TrainingJob")
        .map((j) => j.metadata.name)
        .sort(),
    ).toEqual(["from-file", "two"]);
    expect(source.description).toBe(`kubernetes ${out.trim()}`);
  });
});
