// Ownership and orphans on one Nomad (the double on loopback), with the operator built as `run`
// builds it: a job of the same ID but another owner is never changed (NotOwned on the resource);
// two operators with different owner ids running at once on one Nomad converge their own jobs and
// never write to each other's (zero writes once both are converged); orphans on Nomad are removed
// at start even when the Docker engine does not answer, and only this operator's.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import type { Operator } from "../../src/cli/compose.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { buildNomadOperator, passOnce } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let root = "";
const savedDockerHost = process.env.DOCKER_HOST;

const doc = (name: string, image = "registry.example/train:1") => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: ${image}
`;

async function operator(dir: string, owner: string, once: boolean, resyncMs = 0): Promise<Operator> {
  return buildNomadOperator({
    dir,
    once,
    concurrency: 4,
    ownerId: owner,
    nomadAddr: nomad.address,
    resyncMs,
  });
}

async function converge(dir: string, owner: string): Promise<void> {
  const summary = await passOnce(await operator(dir, owner, true));
  expect(summary.failed.filter((f) => f.reason !== "NotOwned")).toEqual([]);
}

function ownerOf(jobId: string): string | undefined {
  return nomad.state.job("default", jobId)?.Meta?.mlops_owner_id;
}

async function dir(name: string, files: Record<string, string>): Promise<string> {
  const path = join(root, name);
  await rm(path, { recursive: true, force: true });
  await mkdir(path, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(path, file), text);
  return path;
}

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 200 });
  root = await mkdtemp(join(tmpdir(), "mlops-owners-"));
});

afterAll(async () => {
  if (savedDockerHost === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = savedDockerHost;
  await nomad?.close();
  await rm(root, { recursive: true, force: true });
});

describe("ownership on one Nomad", () => {
  it("a job of the same ID owned by another operator is never changed: NotOwned", async () => {
    const a = await dir("a", { "shared.yaml": doc("shared") });
    const b = await dir("b", { "shared.yaml": doc("shared", "registry.example/other:2") });
    await converge(a, "owner-a");
    const before = nomad.state.job("default", "shared");
    expect(before?.Meta?.mlops_owner_id).toBe("owner-a");
    const writes = nomad.writes;

    const op = await operator(b, "owner-b", true);
    try {
      await op.source.start();
      const summary = await op.controller.runUntilIdle({ timeoutMs: 20_000 });
      expect(summary.failed.map((f) => f.reason)).not.toContain("InternalError");
      const status = (op.source.get(makeKey("TrainingJob", "default", "shared")) as TrainingJob).status;
      expect(status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("NotOwned");
      // B's orphan clean-up never lists A's job as its own.
      expect((await op.cleanupOrphans()).removed).toBe(0);
    } finally {
      await op.close();
    }
    expect(nomad.writes).toBe(writes);
    const after = nomad.state.job("default", "shared");
    expect(after?.JobModifyIndex).toBe(before?.JobModifyIndex);
    expect(after?.TaskGroups[0]?.Tasks[0]?.Config?.image).toBe("registry.example/train:1");
  });

  it("two operators with different owner ids, both running, never fight", async () => {
    const names = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);
    const a = await dir("a2", Object.fromEntries(names("alpha").map((n) => [`${n}.yaml`, doc(n)])));
    const b = await dir("b2", Object.fromEntries(names("beta").map((n) => [`${n}.yaml`, doc(n)])));
    const opA = await operator(a, "owner-a2", false, 300);
    const opB = await operator(b, "owner-b2", false, 300);
    try {
      await Promise.all([opA.source.start(), opB.source.start()]);
      opA.controller.start();
      opB.controller.start();
      const deadline = Date.now() + 15_000;
      while ([...names("alpha"), ...names("beta")].some((n) => !nomad.state.job("default", n))) {
        if (Date.now() > deadline) throw new Error("the two operators did not converge");
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500));
      const writes = nomad.writes;
      // Several resyncs of both (300 ms each) and each other's events: nothing is written.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(nomad.writes).toBe(writes);
      for (const n of names("alpha")) expect(ownerOf(n)).toBe("owner-a2");
      for (const n of names("beta")) expect(ownerOf(n)).toBe("owner-b2");
      expect((await opA.cleanupOrphans()).removed).toBe(0);
      expect((await opB.cleanupOrphans()).removed).toBe(0);
      for (const n of [...names("alpha"), ...names("beta")])
        expect(nomad.state.job("default", n)?.Stop).not.toBe(true);
    } finally {
      await Promise.all([opA.controller.stop(), opB.controller.stop()]);
      await Promise.all([opA.close(), opB.close()]);
    }
  }, 30_000);

  it("orphans on Nomad are removed at start while the Docker engine does not answer; another owner's are kept", async () => {
    const c = await dir("c", { "keep.yaml": doc("keep"), "gone.yaml": doc("gone") });
    const other = await dir("c-other", { "theirs.yaml": doc("theirs") });
    await converge(c, "owner-c");
    await converge(other, "owner-other");
    // Deleted while no operator ran, and the state directory lost with it (a new container without
    // its volume): only the owner id on the Nomad job says whose it is.
    await rm(join(c, "gone.yaml"));
    await rm(`${c}-state`, { recursive: true, force: true });
    await rm(join(other, "theirs.yaml"));
    await rm(`${other}-state`, { recursive: true, force: true });
    process.env.DOCKER_HOST = `unix://${join(root, "no-docker.sock")}`;
    const op = await operator(c, "owner-c", true);
    try {
      await op.source.start();
      // A run recorded on local Docker built its scheduler: clean-up visits that engine too (with
      // --scheduler nomad and none built, it would not reach Docker at all).
      op.resolver.byTarget("docker", "local");
      const result = await op.cleanupOrphans();
      expect(result.removed).toBe(1);
      expect(result.skipped).toEqual([
        expect.objectContaining({
          scheduler: expect.stringMatching(/^docker /),
          reason: "DockerUnavailable",
        }),
      ]);
    } finally {
      await op.close();
      if (savedDockerHost === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = savedDockerHost;
    }
    expect(nomad.state.job("default", "gone")).toBeUndefined();
    expect(ownerOf("keep")).toBe("owner-c");
    expect(ownerOf("theirs")).toBe("owner-other");
  });

  it("a job registered by a run killed before its status was written, whose file then went, is removed at start", async () => {
    const d = await dir("d", { "stay.yaml": doc("stay"), "brief.yaml": doc("brief") });
    await converge(d, "owner-d");
    expect(ownerOf("brief")).toBe("owner-d");
    // What a SIGKILL between the register and the (written-behind) status leaves: the generation
    // is on disk, the status is not; then the file is deleted while no operator runs.
    await rm(join(`${d}-state`, "status", "trainingjob", "default", "brief.json"));
    await rm(join(d, "brief.yaml"));
    const op = await operator(d, "owner-d", true);
    try {
      await op.source.start();
      expect((await op.cleanupOrphans()).removed).toBe(1);
      const summary = await op.controller.runUntilIdle({ timeoutMs: 20_000 });
      expect(summary.failed).toEqual([]);
    } finally {
      await op.close();
    }
    expect(nomad.state.job("default", "brief")).toBeUndefined();
    expect(ownerOf("stay")).toBe("owner-d");
  });
});
