// Crash safety of an MlopsStack on the real Docker engine (test/safety/crash-stack.ts): three
// SIGKILLs of `mlopsctl run` while it creates a stack on a network and /24 subnet of this test's
// own, then a run to Ready: one container per component, one network, the status file whole. Every
// object this owner made is removed afterwards. bench/crash-stack.ts does 20 kills.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crashStack, removeStack } from "../safety/crash-stack.ts";

const run = randomBytes(3).toString("hex");
const owner = `crash-stack-${run}`;
const network = `mlops-crash-${run}`;
let root = "";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlops-crash-stack-"));
});
afterAll(async () => {
  await removeStack(owner, network);
  await rm(root, { recursive: true, force: true });
});

describe("crash safety of an MlopsStack on Docker", () => {
  it("three SIGKILLs while the stack is created: one container per component, one network, Ready", async () => {
    const figures = await crashStack({
      root,
      ownerId: owner,
      network,
      subnet24: 100 + (Number.parseInt(run, 16) % 100),
      kills: 3,
      seed: Number(process.env.MLOPS_CRASH_SEED ?? 1),
    });
    expect(figures.lockRefusals).toBe(0);
    expect(figures.ready).toBe(true);
    expect(figures.containers).toEqual({ consul: 1, nomad: 1, prometheus: 1, grafana: 1 });
    expect(figures.networks).toBe(1);
    expect(figures.statusWhole).toBe(true);
  }, 180_000);
});
