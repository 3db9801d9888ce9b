// The few Kubernetes API calls the source makes, on the real @kubernetes/client-node: list (paged),
// watch (the client's Watch, JSON lines), get, and merge patches of an object and of its /status
// subresource. Errors become KubernetesError with the HTTP code and the Status reason the API server
// sent, and a message naming the server, the verb and the object. Requests are counted per endpoint.
import { STATUS_CODES } from "node:http";
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import { OperatorError } from "../../api/errors.ts";
import { KINDS, kindInfo } from "../../api/kinds.ts";
import { GROUP, type Kind, VERSION } from "../../api/resources.ts";
import { externalRequestDuration, externalRequests } from "../../observability/metrics.ts";

export const PLURALS: Readonly<Record<Kind, string>> = Object.fromEntries(
  KINDS.map((kind) => [kind, kindInfo(kind).plural]),
) as Record<Kind, string>;

export interface RawMeta {
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** A custom object as the API server sends it. */
export interface RawObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata: RawMeta;
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

export interface ListPage {
  items: RawObject[];
  resourceVersion: string;
  continue?: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface KubeApi {
  /** The cluster's server URL, for messages and the owner id. */
  readonly server: string;
  list(
    kind: Kind,
    namespace: string | undefined,
    page: { limit: number; continue?: string },
  ): Promise<ListPage>;
  /** Starts a watch; resolves when the response started (or failed: then `done` has been called). */
  watch(
    kind: Kind,
    namespace: string | undefined,
    query: { resourceVersion: string; timeoutSeconds: number },
    onEvent: (type: WatchEventType, object: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<{ abort(): void }>;
  get(kind: Kind, namespace: string, name: string): Promise<RawObject>;
  /** JSON merge patch of the object (metadata: finalizers). */
  patch(kind: Kind, namespace: string, name: string, body: unknown): Promise<RawObject>;
  /** JSON merge patch of the /status subresource. */
  patchStatus(kind: Kind, namespace: string, name: string, body: unknown): Promise<RawObject>;
  /** metadata.uid of a namespace (kube-system: the cluster's identity). */
  namespaceUid?(name: string): Promise<string>;
}

/** A failed API call: `code` is the HTTP status (0 when the server was not reached). */
export class KubernetesError extends OperatorError {
  readonly code: number;
  /** The Status object's reason (NotFound, Conflict, Expired, Forbidden...), when one came back. */
  readonly statusReason: string | undefined;

  constructor(code: number, statusReason: string | undefined, message: string, cause?: unknown) {
    super(reasonFor(code), message, cause === undefined ? {} : { cause });
    this.name = "KubernetesError";
    this.code = code;
    this.statusReason = statusReason;
  }
}

function reasonFor(code: number): string {
  if (code === 409) return "Conflict";
  if (code === 404) return "NotFound";
  if (code === 410) return "Expired";
  if (code === 401 || code === 403) return "KubernetesForbidden";
  if (code === 422) return "Invalid";
  return "KubernetesUnavailable";
}

export function codeOf(error: unknown): number {
  return error instanceof KubernetesError ? error.code : 0;
}

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export class ClientKubeApi implements KubeApi {
  readonly server: string;
  readonly #api: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #watch: Watch;

  /**
   * `watchInactivityMs`: the client's own watch timeout without data (30 s in client-node 2.0). Kept
   * above the source's stall watchdog so that the watchdog decides (bookmarks come about once a
   * minute from a real API server; 30 s would restart every idle watch twice a minute).
   */
  constructor(config: KubeConfig, options: { watchInactivityMs?: number } = {}) {
    const cluster = config.getCurrentCluster();
    if (!cluster)
      throw new OperatorError("KubernetesConfig", "kubeconfig: no current cluster (set a context)");
    this.server = cluster.server;
    this.#api = config.makeApiClient(CustomObjectsApi);
    this.#core = config.makeApiClient(CoreV1Api);
    this.#watch = new Watch(config);
    const inner = this.#watch as unknown as { requestTimeoutMs?: unknown };
    if (options.watchInactivityMs !== undefined && typeof inner.requestTimeoutMs === "number") {
      inner.requestTimeoutMs = options.watchInactivityMs;
    }
  }

  list(
    kind: Kind,
    namespace: string | undefined,
    page: { limit: number; continue?: string },
  ): Promise<ListPage> {
    const plural = PLURALS[kind];
    const common = {
      group: GROUP,
      version: VERSION,
      limit: page.limit,
      ...(page.continue ? { _continue: page.continue } : {}),
    };
    return this.#call(`list ${plural}`, `GET ${plural}${namespace ? ` in ${namespace}` : ""}`, async () => {
      const list = (await (namespace
        ? this.#api.listNamespacedCustomObject({ ...common, namespace, plural })
        : this.#api.listCustomObjectForAllNamespaces({ ...common, resourcePlural: plural }))) as {
        items?: RawObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      return {
        items: list.items ?? [],
        resourceVersion: list.metadata?.resourceVersion ?? "",
        ...(list.metadata?.continue ? { continue: list.metadata.continue } : {}),
      };
    });
  }

  async watch(
    kind: Kind,
    namespace: string | undefined,
    query: { resourceVersion: string; timeoutSeconds: number },
    onEvent: (type: WatchEventType, object: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<{ abort(): void }> {
    const path = `/apis/${GROUP}/${VERSION}${namespace ? `/namespaces/${namespace}` : ""}/${PLURALS[kind]}`;
    externalRequests.inc({ system: "kubernetes", endpoint: `watch ${PLURALS[kind]}`, code: "started" });
    const controller = await this.#watch.watch(
      path,
      {
        resourceVersion: query.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: query.timeoutSeconds,
      },
      (type: string, object: unknown) => onEvent(type as WatchEventType, object),
      (error: unknown) => done(error ? this.#wrap(`GET ${path}?watch=true`, error) : null),
    );
    return { abort: () => controller.abort() };
  }

  get(kind: Kind, namespace: string, name: string): Promise<RawObject> {
    const plural = PLURALS[kind];
    return this.#call(`get ${plural}`, `GET ${plural} ${namespace}/${name}`, async () => {
      const params = { group: GROUP, version: VERSION, namespace, plural, name };
      return (await this.#api.getNamespacedCustomObject(params)) as RawObject;
    });
  }

  patch(kind: Kind, namespace: string, name: string, body: unknown): Promise<RawObject> {
    const plural = PLURALS[kind];
    return this.#call(`patch ${plural}`, `PATCH ${plural} ${namespace}/${name}`, async () => {
      const params = { group: GROUP, version: VERSION, namespace, plural, name, body: body as object };
      return (await this.#api.patchNamespacedCustomObject(params, MERGE)) as RawObject;
    });
  }

  patchStatus(kind: Kind, namespace: string, name: string, body: unknown): Promise<RawObject> {
    const plural = PLURALS[kind];
    return this.#call(`patch ${plural}/status`, `PATCH ${plural} ${namespace}/${name}/status`, async () => {
      const params = { group: GROUP, version: VERSION, namespace, plural, name, body: body as object };
      return (await this.#api.patchNamespacedCustomObjectStatus(params, MERGE)) as RawObject;
    });
  }

  namespaceUid(name: string): Promise<string> {
    return this.#call("get namespaces", `GET namespace ${name}`, async () => {
      const uid = (await this.#core.readNamespace({ name })).metadata?.uid;
      if (!uid)
        throw new KubernetesError(0, undefined, `kubernetes ${this.server}: namespace ${name} has no uid`);
      return uid;
    });
  }

  async #call<T>(endpoint: string, what: string, call: () => Promise<T>): Promise<T> {
    const stop = externalRequestDuration.startTimer({ system: "kubernetes", endpoint });
    try {
      const result = await call();
      externalRequests.inc({ system: "kubernetes", endpoint, code: "2xx" });
      return result;
    } catch (error) {
      const wrapped = this.#wrap(what, error);
      externalRequests.inc({
        system: "kubernetes",
        endpoint,
        code: wrapped.code ? String(wrapped.code) : "error",
      });
      throw wrapped;
    } finally {
      stop();
    }
  }

  #wrap(what: string, error: unknown): KubernetesError {
    if (error instanceof KubernetesError) return error;
    const code = (error as { code?: unknown; statusCode?: unknown } | null) ?? {};
    const status =
      typeof code.code === "number" ? code.code : typeof code.statusCode === "number" ? code.statusCode : 0;
    const body = parseStatus((error as { body?: unknown }).body);
    const text = error instanceof Error ? error.message : String(error);
    // ApiException without a Status body: "HTTP-Code: 401\nMessage: Unauthorized\nBody: ..."
    const said = /^Message: (.+)$/m.exec(text)?.[1];
    const reason = body?.reason ?? (status ? (STATUS_CODES[status] ?? said)?.replace(/\s+/g, "") : undefined);
    const detail =
      body?.message ?? (said && said !== "Unknown API Status Code!" ? said : text.split("\n")[0]);
    const prefix = `kubernetes ${this.server}: ${what}`;
    const message = status
      ? `${prefix}: ${status}${reason ? ` ${reason}` : ""}: ${detail}`
      : `${prefix}: ${detail}`;
    return new KubernetesError(status, reason, message, error);
  }
}

/** The Status object in an error body (a JSON string or an object). */
export function parseStatus(body: unknown): { reason?: string; message?: string; code?: number } | undefined {
  let value = body;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (value === null || typeof value !== "object") return undefined;
  const status = value as { kind?: unknown; reason?: unknown; message?: unknown; code?: unknown };
  return {
    ...(typeof status.reason === "string" ? { reason: status.reason } : {}),
    ...(typeof status.message === "string" ? { message: status.message } : {}),
    ...(typeof status.code === "number" ? { code: status.code } : {}),
  };
}
