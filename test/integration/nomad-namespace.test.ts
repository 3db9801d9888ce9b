// A TrainingJob whose Nomad namespace does not exist yet: it reports NamespaceNotFound, and once the
// namespace is created (`nomad namespace apply`) it is registered and followed within seconds, woken by
// the operator's watch on Nomad's namespace list, not by its retry backoff, a spec change or a restart.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let dir = "";
const KEY = makeKey("TrainingJob", "research", "vit");

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 1_000 });
  dir = await mkdtemp(join(tmpdir(), "mlops-nomad-ns-"));
  await writeFile(
    join(dir, "vit.yaml"),
    `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: vit, namespace: research }
spec:
  image: registry.example/vit:1
  resources: { cpu: 500, memoryMB: 512 }
`,
  );
});

afterAll(async () => {
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("a TrainingJob whose Nomad namespace appears later", () => {
  it("is registered and followed within 10 s of the namespace appearing", async () => {
    const op = await buildNomadOperator({
      dir,
      ownerId: `it-ns-${process.pid}`,
      nomadAddr: nomad.address,
    });
    const job = () => op.source.get(KEY) as TrainingJob | undefined;
    try {
      await op.source.start();
      op.controller.start();
      const waiting = await until("NamespaceNotFound", () =>
        job()?.status?.conditions?.find((c) => c.reason === "NamespaceNotFound"),
      );
      expect(waiting.message).toContain("research");
      // Let the retry backoff grow past what the test waits for below (0.75 s doubling: the next
      // retry after ~5 s of failures is ~6 s away), so only the namespace watch can explain a fast pickup.
      await new Promise((r) => setTimeout(r, 5_000));
      expect(nomad.state.job("research", "vit")).toBeUndefined();
      const created = performance.now();
      nomad.addNamespace("research");
      const [alloc] = await until("the job registered", () => {
        const a = nomad.allocations("research", "vit");
        return a.length === 1 ? a : undefined;
      });
      const registeredMs = performance.now() - created;
      expect(registeredMs).toBeLessThan(10_000);
      expect(registeredMs).toBeLessThan(3_000); // the watch, not the backoff
      nomad.lifecycle.running(alloc?.ID ?? "");
      await until("Running", () => job()?.status?.phase === "Running", 10_000);
      expect(performance.now() - created).toBeLessThan(10_000);
    } finally {
      await op.controller.stop();
      await op.close();
    }
  });
});
