// Builds the Kubernetes source from a kubeconfig: a file given with --kubeconfig, else the default
// chain of @kubernetes/client-node (KUBECONFIG, ~/.kube/config, then the in-cluster service account).
import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { messageOf, OperatorError } from "../../api/errors.ts";
import { ClientKubeApi, type KubeApi } from "./api.ts";
import { KubernetesSource, type KubernetesSourceSettings } from "./source.ts";
import { DEFAULT_STALL_MS } from "./watcher.ts";

export interface KubernetesSourceOptions extends Omit<KubernetesSourceSettings, "api"> {
  /** Path of a kubeconfig file (mlopsctl run --kubeconfig). */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig other than its current one. */
  readonly context?: string;
  /** A loaded configuration (tests); wins over `kubeconfig`. */
  readonly kubeConfig?: KubeConfig;
  /** The client's own watch inactivity timeout (default: the stall watchdog's + 15 s). */
  readonly watchInactivityMs?: number;
  /** The API itself (tests); wins over everything above. */
  readonly api?: KubeApi;
  readonly log?: Logger;
}

export function loadKubeConfig(options: Pick<KubernetesSourceOptions, "kubeconfig" | "context">): KubeConfig {
  const config = new KubeConfig();
  try {
    if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
    else config.loadFromDefault();
    if (options.context) config.setCurrentContext(options.context);
  } catch (error) {
    const where = options.kubeconfig ?? "the default kubeconfig";
    throw new OperatorError("KubernetesConfig", `kubeconfig ${where}: ${messageOf(error)}`, { cause: error });
  }
  if (!config.getCurrentCluster()) {
    const where = options.kubeconfig ?? "KUBECONFIG, ~/.kube/config or the in-cluster service account";
    throw new OperatorError("KubernetesConfig", `kubeconfig ${where}: no cluster for the current context`);
  }
  return config;
}

/** The Kubernetes source for the composition root: `mlopsctl run --source kubernetes`. */
export function kubernetesSource(options: KubernetesSourceOptions = {}): KubernetesSource {
  const { kubeconfig, context, kubeConfig, api, watchInactivityMs: _inactivity, ...settings } = options;
  const resolved =
    api ??
    new ClientKubeApi(
      kubeConfig ??
        loadKubeConfig({
          ...(kubeconfig === undefined ? {} : { kubeconfig }),
          ...(context === undefined ? {} : { context }),
        }),
      { watchInactivityMs: options.watchInactivityMs ?? (settings.stallMs ?? DEFAULT_STALL_MS) + 15_000 },
    );
  return new KubernetesSource({ ...settings, api: resolved });
}
