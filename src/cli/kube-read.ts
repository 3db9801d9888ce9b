// `mlopsctl get` in Kubernetes mode: the resources as the API server holds them (kubectl get's list
// or one object), printed with the same columns as in directory mode; and what the watch shares
// with it (the API from a kubeconfig, a paged list, an object as a row's record).

import { kindInfo } from "../api/kinds.ts";
import { API_VERSION, type Kind } from "../api/resources.ts";
import { line } from "../observability/printable.ts";
import type { KubeApi, RawObject } from "../sources/kubernetes/index.ts";
import type { StatusRecord } from "../sources/state/index.ts";
import { EXIT, ExitError } from "./exit.ts";
import { toJson, toYaml } from "./output.ts";

export interface KubeTarget {
  /** A kubeconfig file (default: KUBECONFIG, ~/.kube/config, then the in-cluster account). */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig other than its current one. */
  readonly context?: string;
}

/** The API of the kubeconfig's cluster (the Kubernetes client is loaded only now: it is heavy). */
export async function kubeApiFor(target: KubeTarget): Promise<KubeApi> {
  const kube = await import("../sources/kubernetes/index.ts");
  const config = kube.loadKubeConfig({
    ...(target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
    ...(target.context ? { context: target.context } : {}),
  });
  // The client's own watch inactivity timeout above the watch loop's stall watchdog (90 s).
  return new kube.ClientKubeApi(config, { watchInactivityMs: 105_000 });
}

const PAGE = 500;

/** Every page of a list, and the resourceVersion to watch from. */
export async function listAll(
  api: KubeApi,
  kind: Kind,
  namespace: string | undefined,
): Promise<{ items: RawObject[]; resourceVersion: string }> {
  const items: RawObject[] = [];
  let next: string | undefined;
  let resourceVersion = "";
  do {
    const page = await api.list(kind, namespace, { limit: PAGE, ...(next ? { continue: next } : {}) });
    items.push(...page.items);
    resourceVersion = page.resourceVersion;
    next = page.continue;
  } while (next);
  return { items, resourceVersion };
}

/** The fields get's columns read, from an object as the API server sends it. */
export function recordOf(kind: Kind, object: RawObject): StatusRecord {
  const { metadata } = object;
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      generation: metadata.generation ?? 0,
      ...(metadata.creationTimestamp ? { creationTimestamp: metadata.creationTimestamp } : {}),
    },
    spec: object.spec,
    specHash: "",
    status: (object.status ?? {}) as Record<string, unknown>,
    updated: "",
  };
}

export interface KubeGetOptions {
  readonly kind: Kind;
  readonly name: string | undefined;
  /** Undefined: every namespace (a list only). */
  readonly namespace: string | undefined;
  readonly format: string;
  readonly target: KubeTarget;
  /** The table of these records (get.ts's columns). */
  readonly table: (records: StatusRecord[], withNamespace: boolean) => string;
  /** The API (tests); default: the kubeconfig's cluster. */
  readonly api?: KubeApi;
}

export async function kubeGet(options: KubeGetOptions): Promise<string> {
  const { kind, name, namespace, format } = options;
  const api = options.api ?? (await kubeApiFor(options.target));
  if (name !== undefined) {
    const where = namespace ?? "default";
    let object: RawObject;
    try {
      object = await api.get(kind, where, name);
    } catch (error) {
      if ((error as { code?: unknown }).code === 404)
        throw new ExitError(
          EXIT.failed,
          `${kindInfo(kind).plural} "${name}" not found in namespace ${where}`,
        );
      throw error;
    }
    if (format === "json") return toJson(object);
    if (format === "yaml") return toYaml(object);
    return options.table([recordOf(kind, object)], false);
  }
  const { items } = await listAll(api, kind, namespace);
  if (format === "json" || format === "yaml") {
    const list = { apiVersion: "v1", kind: "List", items, metadata: { resourceVersion: "" } };
    return format === "json" ? toJson(list) : toYaml(list);
  }
  if (items.length === 0) {
    process.stderr.write(
      line(`No resources found${namespace === undefined ? "" : ` in ${namespace} namespace`}.`),
    );
    return "";
  }
  return options.table(
    items.map((item) => recordOf(kind, item)),
    namespace === undefined,
  );
}
