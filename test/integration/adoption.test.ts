// Adoption on one Nomad (the double on loopback), with the operator built as `run` builds it: the
// directory source behind a git-sync-style link, whose default owner id used to be a hash of the
// link's target and is now a hash of the path as given. Jobs registered by the earlier version
// (under the real-path id) are adopted when their resource is still declared: not duplicated, not
// deleted, not NotOwned; the running run keeps its Meta (a Meta change would make Nomad replace
// its allocations), a new run is registered under today's id with check-and-set; each adoption is
// logged and recorded as an `Adopted` event. A foreign owner's job is left alone, and an explicit
// --owner-id adopts nothing.
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type ResourceKey, type TrainingJob } from "../../src/api/resources.ts";
import type { Operator } from "../../src/cli/compose.ts";
import { readEvents } from "../../src/sources/state/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let root = "";

const doc = (name: string, image = "registry.example/train:1") => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: ${image}
`;
const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);
const key = (name: string): ResourceKey => makeKey("TrainingJob", "default", name);

function operator(dir: string, stateDir: string, ownerId?: string): Promise<Operator> {
  return buildNomadOperator({
    dir,
    stateDir,
    once: true,
    concurrency: 4,
    ...(ownerId ? { ownerId } : {}),
    nomadAddr: nomad.address,
  });
}

/** One pass of `run --once`: read, reconcile until idle, clean up orphans; the reasons that failed. */
async function runOnce(dir: string, stateDir: string, ownerId?: string) {
  const op = await operator(dir, stateDir, ownerId);
  try {
    await op.source.start();
    const summary = await op.controller.runUntilIdle({ timeoutMs: 20_000 });
    const orphans = await op.cleanupOrphans();
    const ready = (name: string) =>
      (op.source.get(key(name)) as TrainingJob | undefined)?.status?.conditions?.find(
        (c) => c.type === "Ready",
      )?.reason;
    return {
      ownerId: op.ownerId,
      failed: summary.failed.map((f) => `${f.key} ${f.reason}`),
      removed: orphans.removed,
      ready,
    };
  } finally {
    await op.close();
  }
}

const job = (id: string) => nomad.state.job("default", id);
const registersOf = (id: string) =>
  nomad.requests.filter(
    (r) =>
      r.method === "POST" &&
      /^\/v1\/(jobs|job\/[^/]+)$/.test(r.path) &&
      (r.body as { Job?: { ID?: string } })?.Job?.ID === id,
  );

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 200 });
  root = await mkdtemp(join(tmpdir(), "mlops-adopt-"));
});

afterAll(async () => {
  await nomad?.close();
  await rm(root, { recursive: true, force: true });
});

describe("adoption of jobs made under the previous default owner id", () => {
  it("adopts the earlier version's jobs, leaves a foreign one alone, and adopts nothing with --owner-id", async () => {
    const revision = join(root, "rev-1", "resources");
    await mkdir(revision, { recursive: true });
    for (const name of ["bert", "gpt", "theirs"]) await writeFile(join(revision, `${name}.yaml`), doc(name));
    await symlink(join(root, "rev-1"), join(root, "current"));
    const given = join(root, "current", "resources");
    const state = join(root, "state");
    const previousId = hash(realpathSync(given)); // what the earlier version derived
    const todayId = hash(resolve(given));
    expect(previousId).not.toBe(todayId);

    // Another operator owns "theirs"; the earlier version registers bert and gpt.
    const other = join(root, "other");
    await mkdir(other, { recursive: true });
    await writeFile(join(other, "theirs.yaml"), doc("theirs", "registry.example/theirs:9"));
    await runOnce(other, join(root, "other-state"), "someone-else");
    const earlier = await runOnce(given, state, previousId);
    expect(earlier.failed).toEqual([]);
    expect(earlier.ready("theirs")).toBe("NotOwned");
    expect(job("bert")?.Meta?.mlops_owner_id).toBe(previousId);
    const bertBefore = job("bert");
    const theirsBefore = job("theirs");
    // gpt's spec changes while the operator is upgraded: its next run is registered by the new one.
    await writeFile(join(revision, "gpt.yaml"), doc("gpt", "registry.example/train:2"));
    const gptRegisters = registersOf("gpt").length;
    const gptBefore = job("gpt");
    const bertRegisters = registersOf("bert").length;

    // Upgraded: no --owner-id, so today's default, and the earlier default adopted.
    const upgraded = await runOnce(given, state);
    expect(upgraded.ownerId).toBe(todayId);
    expect(upgraded.failed).toEqual([]);
    expect(upgraded.ready("theirs")).toBe("NotOwned");
    expect(upgraded.removed).toBe(0);
    expect(upgraded.ready("bert")).not.toBe("NotOwned");
    expect(upgraded.ready("gpt")).not.toBe("NotOwned");
    // bert: adopted as it is (same run: no register, its Meta and allocations untouched).
    expect(registersOf("bert")).toHaveLength(bertRegisters);
    expect(job("bert")?.JobModifyIndex).toBe(bertBefore?.JobModifyIndex);
    expect(job("bert")?.Stop).not.toBe(true);
    // gpt: its new run is registered under today's id, with check-and-set on the adopted job.
    // (the double's executor then fails the run, so later attempts may follow: all under today's id)
    const gptUpgraded = registersOf("gpt").slice(gptRegisters);
    expect(gptUpgraded.length).toBeGreaterThanOrEqual(1);
    expect(gptUpgraded[0]?.body).toMatchObject({
      EnforceIndex: true,
      JobModifyIndex: gptBefore?.JobModifyIndex,
      Job: { Meta: { mlops_owner_id: todayId, mlops_generation: "2", mlops_attempt: "1" } },
    });
    for (const r of gptUpgraded) expect(r.body).toMatchObject({ Job: { Meta: { mlops_owner_id: todayId } } });
    expect(job("gpt")?.Meta?.mlops_owner_id).toBe(todayId);
    expect(job("gpt")?.TaskGroups[0]?.Tasks[0]?.Config?.image).toBe("registry.example/train:2");
    // One job per resource, in every namespace: adoption registered nothing beside the adopted jobs.
    const listed = (await (await fetch(`${nomad.address}/v1/jobs?namespace=*`)).json()) as { ID: string }[];
    expect(listed.map((j) => j.ID).sort()).toEqual(["bert", "gpt", "theirs"]);
    // theirs: another operator's, left alone.
    expect(job("theirs")?.JobModifyIndex).toBe(theirsBefore?.JobModifyIndex);
    expect(job("theirs")?.Meta?.mlops_owner_id).toBe("someone-else");
    // Each adoption is an event on its resource (what `describe` shows); none on the foreign one.
    const adopted = async (name: string) =>
      (await readEvents(state, key(name))).filter((e) => e.reason === "Adopted");
    expect(await adopted("bert")).toHaveLength(1);
    expect((await adopted("bert"))[0]?.message).toContain(`previous default owner id ${previousId}`);
    expect((await adopted("bert"))[0]?.message).toContain(todayId);
    expect(await adopted("gpt")).toHaveLength(1);
    expect(await adopted("theirs")).toEqual([]);

    // An explicit --owner-id (even today's default) adopts nothing: bert is another owner's then.
    const explicit = await runOnce(given, join(root, "state-explicit"), todayId);
    expect(explicit.ready("bert")).toBe("NotOwned");
    expect(explicit.ready("theirs")).toBe("NotOwned");
    expect(job("bert")?.JobModifyIndex).toBe(bertBefore?.JobModifyIndex);
  }, 60_000);
});
