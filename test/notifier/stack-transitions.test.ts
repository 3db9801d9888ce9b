// MlopsStack transitions reach Notifiers through the same path as a TrainingJob's: the status writer
// the composition root builds (observedWriter) reads a stack's phase from the conditions it writes,
// and a Notifier without spec.events gets each transition once, naming kind MlopsStack.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Subject } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  AnyResource,
  MlopsStack,
  Notifier,
  NotifierSpec,
  ResourceKey,
} from "../../src/api/resources.ts";
import { observedWriter } from "../../src/cli/status-hooks.ts";
import { Notifications, Outbox, selects } from "../../src/notifier/index.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { writingSource } from "../controller/writing-source.ts";
import { type Receiver, startReceiver } from "./receiver.ts";

let root: string;
let receiver: Receiver;
let url: string;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "mlops-notifier-stack-"));
  receiver = await startReceiver();
  url = `${receiver.base}/hook`;
});

afterEach(async () => {
  await receiver.close();
  rmSync(root, { recursive: true, force: true });
});

const notifier = (spec: Partial<NotifierSpec> = {}): Notifier => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "Notifier",
  metadata: { name: "team", namespace: "ml", generation: 1 },
  spec: { type: "webhook", address: url, ...spec } as NotifierSpec,
});

const stack = (): MlopsStack =>
  ({
    apiVersion: "mlops.dev/v1alpha1",
    kind: "MlopsStack",
    metadata: { name: "platform", namespace: "ml", generation: 1 },
    spec: {},
  }) as MlopsStack;

const ready = (status: "True" | "False", reason: string, at: string, extra: object[] = []) => ({
  observedGeneration: 1,
  conditions: [
    { type: "Ready", status, reason, message: `${reason} message`, lastTransitionTime: at },
    ...extra,
  ],
});
const degraded = (at: string) => [
  { type: "Degraded", status: "True", reason: "PortInUse", message: "m", lastTransitionTime: at },
];

const source = writingSource();

describe("MlopsStack phase transitions", () => {
  it("reach a Notifier without spec.events, once per transition, as kind MlopsStack", async () => {
    const notifications = new Notifications({
      outbox: new Outbox(root),
      notifiers: () => [notifier()],
      log: silentLogger(),
      curve: { initialMs: 5, maxMs: 20 },
      maxAttempts: 2,
    });
    const writer = observedWriter(source, new Subject<ResourceKey>(), (r, from, to) =>
      notifications.phaseChanged(r, from, to),
    );
    const platform = stack();
    const t = (s: number) => `2026-05-01T00:00:0${s}Z`;
    await writer.write(platform, ready("False", "Progressing", t(0)) as never);
    await writer.write(platform, ready("False", "Progressing", t(0)) as never); // no change
    await writer.write(platform, ready("True", "Ready", t(1)) as never);
    await writer.write(platform, ready("False", "PortInUse", t(2), degraded(t(2))) as never);
    await writer.write(platform, ready("True", "Ready", t(3)) as never);
    await writer.write(platform, ready("False", "PortInUse", t(4), degraded(t(4))) as never); // again
    await notifications.idle();
    expect(
      receiver.received
        .map((r) => JSON.parse(r.body) as Record<string, unknown>)
        .map((p) => [p.kind, p.name, p.previousPhase, p.phase, p.reason, p.runId]),
    ).toEqual([
      ["MlopsStack", "platform", null, "Progressing", "Progressing", null],
      ["MlopsStack", "platform", "Progressing", "Ready", "Ready", null],
      ["MlopsStack", "platform", "Ready", "Degraded", "PortInUse", null],
      ["MlopsStack", "platform", "Degraded", "Ready", "Ready", null],
      ["MlopsStack", "platform", "Ready", "Degraded", "PortInUse", null],
    ]);
    expect(
      new Set(receiver.received.map((r) => JSON.parse(r.body) as Record<string, unknown>).map((p) => p.id))
        .size,
    ).toBe(5);
  });

  it.each<[string, Partial<NotifierSpec>, boolean]>([
    ["without spec.events", {}, true],
    ["with kinds naming it", { events: { kinds: ["MlopsStack"] } }, true],
    ["with kinds naming only TrainingJob", { events: { kinds: ["TrainingJob"] } }, false],
    ["with phases naming the new one", { events: { phases: ["Degraded"] } }, true],
    ["with phases naming others", { events: { phases: ["Failed"] } }, false],
  ])("are selected %s: %s", (_name, spec, want) => {
    const resource = {
      ...stack(),
      status: ready("False", "PortInUse", "2026-05-01T00:00:00Z"),
    } as AnyResource;
    expect(selects(notifier(spec), { resource, from: "Ready", to: "Degraded", time: new Date() })).toBe(want);
  });
});
