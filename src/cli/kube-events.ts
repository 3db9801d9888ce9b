// Kubernetes mode's events: besides the state directory's log, every event becomes a core/v1 Event
// on its resource (src/sources/kubernetes/events.ts), so kubectl describe lists it. Loaded only in
// Kubernetes mode, as the rest of the Kubernetes client.
import type { Logger } from "pino";
import type { Recorder } from "../controller/reconcile.ts";
import type { Source } from "../controller/source.ts";
import type { KubernetesSource } from "../sources/kubernetes/source.ts";

/** core/v1 Events on the resources the Kubernetes source holds (src/sources/kubernetes/events.ts). */
export async function buildKubeEvents(
  choice: { readonly kubeconfig?: string; readonly context?: string },
  source: Source,
  log: Logger,
): Promise<{ event: Recorder["event"]; close(): Promise<void> }> {
  const { ClientEventSink, KubeEventRecorder, loadKubeConfig } = await import(
    "../sources/kubernetes/index.ts"
  );
  const config = loadKubeConfig({
    ...(choice.kubeconfig ? { kubeconfig: choice.kubeconfig } : {}),
    ...(choice.context ? { context: choice.context } : {}),
  });
  const kubernetes = source as KubernetesSource;
  return new KubeEventRecorder({
    sink: new ClientEventSink(config),
    reference: (key) => kubernetes.reference(key),
    log,
  });
}

/** A recorder that tells both. */
export function bothRecorders(first: Recorder, second: Recorder): Recorder {
  return {
    event(key, type, reason, message) {
      first.event(key, type, reason, message);
      second.event(key, type, reason, message);
    },
    async forget(key) {
      await Promise.all([first.forget?.(key), second.forget?.(key)]);
    },
  };
}
