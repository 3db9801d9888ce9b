// The source a run reads its resources from, as the composition root builds it: the directory (with
// its prune settings) or, loaded only when asked for, the Kubernetes client.
import type { Logger } from "pino";
import type { Source } from "../controller/source.ts";
import { DirectorySource } from "../sources/directory/index.ts";
import type { EventLog, StateStore } from "../sources/state/index.ts";
import type { OperatorOptions, SourceOptions } from "./compose.ts";

export async function buildSource(
  choice: SourceOptions,
  store: StateStore,
  options: OperatorOptions,
  log: Logger,
  recorder: EventLog,
): Promise<Source> {
  if (choice.kind === "directory") {
    const prune = options.prune;
    return new DirectorySource({
      dir: choice.dir,
      store,
      once: options.once,
      log,
      recorder,
      ...(prune ? { settleMs: prune.settleMs, prune: prune.enabled, massPrune: prune.mass } : {}),
    });
  }
  // Loaded only when asked for: the Kubernetes client is heavy, and most users run from a directory.
  const { kubernetesSource } = await import("../sources/kubernetes/index.ts");
  const source = kubernetesSource({
    log,
    ...(choice.kubeconfig ? { kubeconfig: choice.kubeconfig } : {}),
    ...(choice.context ? { context: choice.context } : {}),
    ...(choice.namespace ? { namespace: choice.namespace } : {}),
  });
  if (options.ownerId === undefined) await source.identify();
  return source;
}
