// The operator image images/operator/build.sh builds (the layout images/operator/Dockerfile gives
// users): `mlopsctl version` through bin/mlopsctl as the entrypoint, V8's old generation sized from
// the container's memory limit by it, and `run --once` as a non-root user on a read-only root filesystem, resources mounted read-only, converging a TrainingJob onto the Nomad double on
// this host's loopback (host network) and exiting 0. Image: $MLOPS_OPERATOR_IMAGE, default
// mlops-operator:dev (hack/build-images.sh operator).
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEAP_LIMIT_PRELOAD, heapLimitMb } from "../cli/heap-limit.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);
const IMAGE = process.env.MLOPS_OPERATOR_IMAGE ?? "mlops-operator:dev";
let nomad: NomadDouble;
let dir = "";

async function docker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec("docker", args, { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  const inspect = await docker("image", "inspect", IMAGE);
  if (inspect.code !== 0) throw new Error(`image ${IMAGE} is missing: run hack/build-images.sh operator`);
  nomad = await startNomadDouble({ host: "127.0.0.1" });
  dir = mkdtempSync(join(tmpdir(), "mlops-image-"));
  chmodSync(dir, 0o755);
  writeFileSync(
    join(dir, "bert.yaml"),
    `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: bert }
spec:
  image: registry.example/bert:1
  resources: { cpu: 500, memoryMB: 256 }
`,
  );
  chmodSync(join(dir, "bert.yaml"), 0o644);
});

afterAll(async () => {
  await nomad?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe(`the operator image (${IMAGE})`, () => {
  it("prints its version with mlopsctl as the entrypoint", async () => {
    const { code, stdout } = await docker("run", "--rm", IMAGE, "version");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^mlopsctl \d+\.\d+\.\d+ \(resources mlops\.dev\/v1alpha1, node v24\./);
  });

  // bin/mlopsctl in the image: in a container of 256 MB all of it but 96 MB (docker's cgroup v1 names
  // the host's path in /proc/self/cgroup: the launcher reads the container's own limit at the mount's
  // root); without a limit the cap of 1024 MB. A preload prints V8's heap limit (old + young).
  it("sizes V8's old generation from the container's memory limit", async () => {
    const containerHeapLimitMb = async (...limit: string[]) => {
      const r = await docker(
        "run",
        "--rm",
        ...limit,
        "-e",
        `NODE_OPTIONS=--import=${HEAP_LIMIT_PRELOAD}`,
        IMAGE,
        "version",
      );
      expect(r.code, r.stderr).toBe(0);
      return heapLimitMb(r.stderr);
    };
    const sized = await containerHeapLimitMb("--memory", "256m");
    expect(sized).toBeGreaterThanOrEqual(256 - 96);
    expect(sized).toBeLessThan(256 - 96 + 64); // the young generation: 3 semi-spaces of 8 MB at most
    expect(totalmem() / 2 ** 20, "the cap applies with 4 GB of memory or more").toBeGreaterThanOrEqual(4096);
    const unlimited = await containerHeapLimitMb();
    expect(unlimited).toBeGreaterThanOrEqual(1024);
    expect(unlimited).toBeLessThan(1024 + 64);
  }, 90_000);

  it("runs --once as user 65532 on a read-only root filesystem and converges a mounted directory", async () => {
    const { code, stdout, stderr } = await docker(
      "run",
      "--rm",
      "--read-only",
      "--network",
      "host",
      "--user",
      "65532:65532",
      "--tmpfs",
      "/tmp",
      "--tmpfs",
      "/var/lib/mlops:uid=65532,gid=65532,mode=0700",
      "-v",
      `${dir}:/resources:ro`,
      "-e",
      `NOMAD_ADDR=${nomad.address}`,
      "-e",
      "XDG_STATE_HOME=/tmp",
      "--label",
      "mlops.dev/test=operator-image",
      IMAGE,
      "run",
      "--once",
      "--dir",
      "/resources",
      "--scheduler",
      "nomad",
      "--owner-id",
      `it-image-${process.pid}`,
      "--log-format",
      "json",
    );
    expect({ code, stderr: stderr.slice(-2000) }).toMatchObject({ code: 0 });
    expect(stdout + stderr).toContain("converged once");
    const registered = nomad.requests.filter((r) => r.method !== "GET" && /^\/v1\/jobs?\b/.test(r.path));
    expect(registered.length).toBeGreaterThan(0);
  }, 90_000);
});
