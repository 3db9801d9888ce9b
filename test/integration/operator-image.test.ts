// The operator image images/operator/build.sh builds (the layout images/operator/Dockerfile gives
// users): `mlopsctl version` as the entrypoint, and `run --once` as a non-root user on a read-only
// root filesystem, resources mounted read-only, converging a TrainingJob onto the Nomad double on
// this host's loopback (host network) and exiting 0. Image: $MLOPS_OPERATOR_IMAGE, default
// mlops-operator:dev (hack/build-images.sh operator).
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
