// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: see server.ts; driven by
// @kubernetes/client-node 2.0.1.
// Test harness: the API double on loopback, a KubernetesSource on the real client pointed at it
// (short stall and backoff settings), the keys it announces, and a bounded wait.
import type { ResourceKey } from "../../../src/api/resources.ts";
import { type KubernetesSourceOptions, kubernetesSource } from "../../../src/sources/kubernetes/index.ts";
import type { KubernetesSource } from "../../../src/sources/kubernetes/source.ts";
import { KubernetesDouble, type KubernetesDoubleOptions } from "./server.ts";

export interface KubeHarness {
  readonly double: KubernetesDouble;
  readonly source: KubernetesSource;
  /** Keys from changes(), in order. */
  readonly keys: ResourceKey[];
  close(): Promise<void>;
}

export async function startHarness(
  options: { double?: KubernetesDoubleOptions; source?: KubernetesSourceOptions; start?: boolean } = {},
): Promise<KubeHarness> {
  const double = new KubernetesDouble({ bookmarkMs: 100, ...options.double });
  await double.start();
  const source = kubernetesSource({
    kubeConfig: double.kubeConfig(),
    stallMs: 2_000,
    backoffInitialMs: 20,
    backoffMaxMs: 200,
    startTimeoutMs: 3_000,
    ...options.source,
  });
  const keys: ResourceKey[] = [];
  const subscription = source.changes().subscribe((key) => keys.push(key));
  if (options.start !== false) await source.start();
  return {
    double,
    source,
    keys,
    async close() {
      subscription.unsubscribe();
      await source.close();
      await double.close();
    },
  };
}

/** Polls `check` every 5 ms until it is true; fails after `timeoutMs` naming `what`. */
export async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function trainingJob(name: string, namespace = "ml", spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace },
    spec: { image: "trainer:1.0", ...spec },
  };
}

export function mlopsStack(name: string, namespace = "ml") {
  return { apiVersion: "mlops.dev/v1alpha1", kind: "MlopsStack", metadata: { name, namespace }, spec: {} };
}
