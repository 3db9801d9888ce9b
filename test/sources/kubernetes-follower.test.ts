// A follower's Kubernetes source (run --leader-elect, not leading) reads and watches but writes
// nothing: no finalizer patches until it leads; then every live object lacking the finalizer gets it.
import { afterEach, describe, expect, it } from "vitest";
import { FINALIZER, kubernetesSource } from "../../src/sources/kubernetes/index.ts";
import { KubernetesDouble, trainingJob, until } from "../doubles/kubernetes/index.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("a follower's Kubernetes source", () => {
  it("adds no finalizer until setFinalizing(true), then adds it to every object lacking it", async () => {
    const kube = new KubernetesDouble();
    await kube.start();
    cleanups.push(() => kube.close());
    kube.create(trainingJob("a"));
    const source = kubernetesSource({ kubeConfig: kube.kubeConfig(), startTimeoutMs: 3_000 });
    cleanups.push(() => source.close());
    source.setFinalizing(false);
    await source.start();
    kube.create(trainingJob("b")); // seen by the watch
    await until("b seen", () => source.get("TrainingJob/ml/b") !== undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(kube.requests.filter((r) => r.method !== "GET")).toEqual([]);

    source.setFinalizing(true);
    for (const name of ["a", "b"]) {
      await until(
        `${name} finalized`,
        () => kube.state.get("trainingjobs", "ml", name).metadata.finalizers?.includes(FINALIZER) === true,
      );
    }
  });
});
