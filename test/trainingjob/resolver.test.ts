import { describe, expect, it } from "vitest";
import type { AnyResource, MlopsStack, ResourceKey } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import type { RunAnnotator } from "../../src/trainingjob/ports.ts";
import { DefaultSchedulerResolver, type SchedulerFactories } from "../../src/trainingjob/resolver.ts";
import { trainingJob } from "../trainingjob/builders.ts";
import { RecordingScheduler } from "../trainingjob/recording-scheduler.ts";

function stack(ready: boolean, nomad = "http://127.0.0.1:4646"): MlopsStack {
  const result = validateDocument({
    apiVersion: "mlops.dev/v1alpha1",
    kind: "MlopsStack",
    metadata: { name: "platform" },
  });
  if (!result.ok) throw new Error("fixture");
  const s = result.resource as MlopsStack;
  s.status = {
    conditions: [
      {
        type: "Ready",
        status: ready ? "True" : "False",
        reason: ready ? "Ready" : "Progressing",
        message: "",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ],
    endpoints: {
      nomad: { host: nomad, internal: "http://172.20.0.20:4646" },
      grafana: { host: "http://127.0.0.1:3000" },
    },
  };
  return s;
}

function index(...resources: AnyResource[]) {
  const byKey = new Map<ResourceKey, AnyResource>(resources.map((r) => [keyOf(r), r]));
  return { get: (key: ResourceKey) => byKey.get(key), list: () => [...byKey.values()] };
}

function resolver(extra: Partial<SchedulerFactories> = {}) {
  const built: string[] = [];
  const annotator: RunAnnotator = { started: async () => 1, finished: async () => {} };
  const r = new DefaultSchedulerResolver({
    mode: "auto",
    docker: () => {
      built.push("docker");
      return new RecordingScheduler();
    },
    nomad: (address, network, stack) => {
      built.push(`nomad ${address} ${network ?? "-"}${stack ? ` ${stack}` : ""}`);
      return Object.assign(new RecordingScheduler(), { name: "nomad" as const, target: address });
    },
    stackPorts: (s) => {
      built.push(`ports ${s.metadata.name}`);
      return { annotator };
    },
    ...extra,
  });
  return { r, built, annotator };
}

describe("where a TrainingJob runs", () => {
  it("on the stack's Nomad once the stack is Ready, with the stack's Grafana, built once", () => {
    const { r, built, annotator } = resolver();
    const job = trainingJob({ stackRef: "platform" });
    const first = r.resolve(job, index(stack(true)));
    const second = r.resolve(job, index(stack(true)));
    expect("scheduler" in first && first.scheduler.target).toBe("http://127.0.0.1:4646");
    expect("scheduler" in first && first.annotator).toBe(annotator);
    expect("scheduler" in second && second.scheduler).toBe("scheduler" in first && first.scheduler);
    // The stack is named to its scheduler: placement messages say where to declare host volumes.
    expect(built).toEqual(["nomad http://127.0.0.1:4646 mlops-network default/platform", "ports platform"]);
  });

  it("waits for a stack that is missing or not Ready", () => {
    const { r, built } = resolver();
    const job = trainingJob({ stackRef: "platform" });
    const missing = r.resolve(job, index());
    expect("blocker" in missing && missing.blocker).toMatchObject({
      reason: "WaitingForStack",
      stalled: false,
    });
    const notReady = r.resolve(job, index(stack(false)));
    expect("blocker" in notReady && notReady.blocker.message).toContain("is not Ready (Progressing)");
    expect(built).toEqual([]);
  });

  it("on the configured Nomad without a stackRef, else on local Docker", () => {
    const configured = resolver({ configuredNomad: "http://nomad.example:4646" });
    const a = configured.r.resolve(trainingJob({}), index());
    expect("scheduler" in a && a.scheduler.target).toBe("http://nomad.example:4646");
    const local = resolver();
    const b = local.r.resolve(trainingJob({}), index());
    expect("scheduler" in b && b.scheduler.name).toBe("docker");
  });

  it("--scheduler nomad without an address is a stalled, explained blocker", () => {
    const { r } = resolver({ mode: "nomad" });
    const choice = r.resolve(trainingJob({}), index());
    expect("blocker" in choice && choice.blocker).toMatchObject({
      reason: "NomadUnavailable",
      stalled: true,
    });
  });
});

describe("candidates: every scheduler orphan clean-up visits", () => {
  it("the configured Nomad and the Nomad of each Ready stack, not of a stack still starting", () => {
    const { r, built } = resolver({ mode: "nomad", configuredNomad: "http://nomad:4646" });
    const ready = stack(true, "http://127.0.0.1:14646");
    const starting = {
      ...stack(false, "http://127.0.0.1:24646"),
      metadata: { ...ready.metadata, name: "other" },
    };
    const targets = r.candidates(index(ready, starting as MlopsStack)).map((s) => `${s.name} ${s.target}`);
    expect(targets).toContain("nomad http://nomad:4646");
    expect(targets).toContain("nomad http://127.0.0.1:14646");
    expect(targets).not.toContain("nomad http://127.0.0.1:24646");
    expect(built).toContain("nomad http://127.0.0.1:14646 mlops-network default/platform");
  });

  // Local Docker only where this configuration places runs: a run on Nomad never loads the Docker client.
  it.each([
    ["docker", undefined, ["docker"]],
    ["docker", "http://nomad:4646", ["docker"]],
    ["auto", undefined, ["docker"]],
    ["auto", "http://nomad:4646", ["nomad http://nomad:4646 -"]],
    ["nomad", "http://nomad:4646", ["nomad http://nomad:4646 -"]],
    ["nomad", undefined, []],
  ] as const)("--scheduler %s, configured Nomad %s: builds %j", (mode, configuredNomad, expected) => {
    const { r, built } = resolver({ mode, ...(configuredNomad ? { configuredNomad } : {}) });
    r.candidates(index());
    expect(built).toEqual(expected);
  });

  it("local Docker once a run recorded there built its scheduler, whatever the mode", () => {
    const { r, built } = resolver({ mode: "nomad", configuredNomad: "http://nomad:4646" });
    const docker = r.byTarget("docker", "local");
    expect(r.candidates(index())).toContain(docker);
    expect(built).toEqual(["docker", "nomad http://nomad:4646 -"]);
  });
});
