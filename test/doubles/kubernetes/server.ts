// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows:
// staging/src/k8s.io/apiserver/pkg/endpoints/handlers (get, list, create, update, patch, delete, watch),
// staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource.
// A Kubernetes API double on node:http for the two mlops.dev/v1alpha1 custom resources, speaking the
// API server's wire format: lists with metadata.resourceVersion, watches as JSON lines (ADDED,
// MODIFIED, DELETED, BOOKMARK; a too-old version is an ERROR event with a 410 Expired Status), one
// object, create, replace, merge patch, delete with finalizers, the /status subresource and Status
// objects for errors. Scripting for tests: fail the next requests, drop or stall the open watches,
// compact the event window. Core v1 Events, Leases, Namespaces and Secrets: see their modules.
// Drive it with the real @kubernetes/client-node through kubeConfig().
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { ConfigMapStore } from "./configmaps.ts";
import { EventStore } from "./events.ts";
import {
  listPage,
  parsePath,
  pluralOf,
  type Reply,
  type Route,
  readBody,
  reply,
  sendJson,
  sendStatus,
} from "./http.ts";
import { LeaseStore } from "./leases.ts";
import { NamespaceStore } from "./namespaces.ts";
import { SecretStore } from "./secrets.ts";
import { ApiFailure, GROUP, type KubeObject, KubeState } from "./state.ts";
import { openWatch, type WatchStream } from "./watch.ts";

export interface KubernetesDoubleOptions {
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** Period of BOOKMARK events for watches that allow them (default 1000 ms; 0: none). */
  bookmarkMs?: number;
  /** Watch events kept for resuming watches (default 50). */
  eventWindow?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: unknown;
}

interface ScriptedFailure {
  remaining: number;
  code: number;
  reason: string;
  method?: string;
  match?: RegExp;
}

export class KubernetesDouble {
  readonly state: KubeState;
  readonly requests: RecordedRequest[] = [];
  /** Core v1 Secrets (GET only), for valueFrom.secretKeyRef. */
  readonly secrets = new SecretStore();
  /** coordination.k8s.io/v1 Leases (leader election). */
  readonly leases = new LeaseStore();
  /** Core v1 Events (POST, PATCH, GET one and lists with fieldSelector): what kubectl describe lists. */
  readonly events = new EventStore();
  readonly configMaps = new ConfigMapStore();
  /** Core v1 Namespaces (GET one: kube-system's UID is the cluster's identity). */
  readonly namespaces = new NamespaceStore();
  readonly #options: KubernetesDoubleOptions;
  readonly #watches = new Set<WatchStream>();
  readonly #sockets = new Set<Socket>();
  readonly #failures: ScriptedFailure[] = [];
  #server: Server | undefined;
  #port = 0;

  constructor(options: KubernetesDoubleOptions = {}) {
    this.#options = options;
    this.state = new KubeState(options.eventWindow === undefined ? {} : { eventWindow: options.eventWindow });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendStatus(res, new ApiFailure(500, "InternalError", String(error)));
        else res.destroy();
      });
    });
    server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this.url;
  }

  async close(): Promise<void> {
    for (const watch of this.#watches) watch.end();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** A KubeConfig for the real client: cluster at this double, a bearer token when one is required. */
  kubeConfig(namespace?: string): KubeConfig {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: "double", server: this.url, skipTLSVerify: true }],
      users: [{ name: "operator", ...(this.#options.token ? { token: this.#options.token } : {}) }],
      contexts: [
        { name: "double", cluster: "double", user: "operator", ...(namespace ? { namespace } : {}) },
      ],
      currentContext: "double",
    });
    return config;
  }

  /**
   * The next `count` requests (of `method`, whose path and query match `match`, for example
   * /watch=true/ or /continue=/) are answered with a Status error.
   */
  failNext(
    count: number,
    options: { code?: number; reason?: string; method?: string; match?: RegExp } = {},
  ): void {
    this.#failures.push({
      remaining: count,
      code: options.code ?? 500,
      reason: options.reason ?? "InternalError",
      ...(options.method ? { method: options.method } : {}),
      ...(options.match ? { match: options.match } : {}),
    });
  }

  /** Closes every open watch abruptly (a dropped connection). */
  dropWatches(): number {
    const count = this.#watches.size;
    for (const watch of this.#watches) watch.destroy();
    return count;
  }

  /** Open watches stop sending anything (events and bookmarks) but stay connected. */
  stallWatches(): number {
    for (const watch of this.#watches) watch.stall();
    return this.#watches.size;
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  /** Requests of a method whose path matches. */
  count(method: string, match: RegExp): number {
    return this.requests.filter((r) => r.method === method && match.test(r.path)).length;
  }

  // --- direct access for tests (as kubectl would) -------------------------------------------------

  create(
    object: { kind: string; metadata: { name: string; namespace?: string; [key: string]: unknown } } & Record<
      string,
      unknown
    >,
  ): KubeObject {
    return this.state.create(pluralOf(object.kind), object.metadata.namespace ?? "default", object);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://double");
    const query = Object.fromEntries(url.searchParams);
    const text = await readBody(req);
    const contentType = req.headers["content-type"]?.split(";")[0]?.trim();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      return sendStatus(
        res,
        new ApiFailure(400, "BadRequest", `the request body is not JSON: ${text.slice(0, 80)}`),
      );
    }
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname, query, contentType, body });
    if (this.#options.token && req.headers.authorization !== `Bearer ${this.#options.token}`) {
      return sendStatus(res, new ApiFailure(401, "Unauthorized", "Unauthorized"));
    }
    const target = `${url.pathname}${url.search}`;
    const failure = this.#failures.find(
      (f) => f.remaining > 0 && (!f.method || f.method === method) && (!f.match || f.match.test(target)),
    );
    if (failure) {
      failure.remaining -= 1;
      return sendStatus(
        res,
        new ApiFailure(failure.code, failure.reason, `scripted failure (${failure.reason})`),
      );
    }
    try {
      const secret = this.secrets.route(method, url.pathname);
      if (secret) return sendJson(res, secret.code, secret.body);
      const lease = this.leases.route(method, url.pathname, body);
      if (lease) return sendJson(res, lease.code, lease.body);
      const event = this.events.route(method, url.pathname, query, contentType, body);
      if (event) return sendJson(res, event.code, event.body);
      const configMap = this.configMaps.route(method, url.pathname, body);
      if (configMap) return sendJson(res, configMap.code, configMap.body);
      const namespace = this.namespaces.route(method, url.pathname);
      if (namespace) return sendJson(res, namespace.code, namespace.body);
    } catch (error) {
      if (error instanceof ApiFailure) return sendStatus(res, error);
      throw error;
    }
    const route = parsePath(url.pathname);
    if (!route)
      return sendStatus(
        res,
        new ApiFailure(404, "NotFound", "the server could not find the requested resource"),
      );
    try {
      const answer = this.#route(method, route, query, contentType, body, res);
      if (answer) sendJson(res, answer.code, answer.body);
    } catch (error) {
      if (error instanceof ApiFailure) return sendStatus(res, error);
      throw error;
    }
  }

  #route(
    method: string,
    route: Route,
    query: Record<string, string>,
    contentType: string | undefined,
    body: unknown,
    res: ServerResponse,
  ): Reply | undefined {
    const { plural, namespace, name, status } = route;
    const state = this.state;
    if (name === undefined) {
      if (method === "GET" && (query.watch === "true" || query.watch === "1")) {
        const watch = openWatch(res, state, {
          plural,
          ...(namespace ? { namespace } : {}),
          ...(query.resourceVersion ? { resourceVersion: query.resourceVersion } : {}),
          bookmarkMs: query.allowWatchBookmarks === "true" ? (this.#options.bookmarkMs ?? 1000) : 0,
          ...(query.timeoutSeconds ? { timeoutMs: Number(query.timeoutSeconds) * 1000 } : {}),
        });
        this.#watches.add(watch);
        watch.closed.then(() => this.#watches.delete(watch)).catch(() => {});
        return undefined;
      }
      if (method === "GET") return listPage(state, plural, namespace, query);
      if (method === "POST" && namespace) {
        const meta = (body as { metadata?: { namespace?: string } } | undefined)?.metadata;
        if (meta?.namespace && meta.namespace !== namespace) {
          throw new ApiFailure(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
          );
        }
        return reply(201, state.create(plural, namespace, (body ?? {}) as Record<string, unknown>));
      }
      throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on ${plural}.${GROUP} lists`);
    }
    if (!namespace) throw new ApiFailure(404, "NotFound", "the server could not find the requested resource");
    const key = `${method} ${plural}${status ? "/status" : ""}`;
    if (method !== "GET") this.state.writes.set(key, (this.state.writes.get(key) ?? 0) + 1);
    switch (method) {
      case "GET":
        return reply(200, state.get(plural, namespace, name));
      case "PUT":
        return reply(
          200,
          status
            ? state.writeStatus(plural, namespace, name, body, false)
            : state.replace(plural, namespace, name, (body ?? {}) as Record<string, unknown>),
        );
      case "PATCH":
        if (contentType !== "application/merge-patch+json") {
          throw new ApiFailure(
            415,
            "UnsupportedMediaType",
            `the double supports application/merge-patch+json, not ${contentType ?? "(none)"}`,
          );
        }
        return reply(
          200,
          status
            ? state.writeStatus(plural, namespace, name, body, true)
            : state.patch(plural, namespace, name, body),
        );
      case "DELETE": {
        const uid = (() => {
          try {
            return state.get(plural, namespace, name).metadata.uid;
          } catch {
            return undefined;
          }
        })();
        const result = state.delete(plural, namespace, name);
        if (result !== "deleted") return reply(200, result);
        return reply(200, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          details: { name, group: GROUP, kind: plural, uid },
        });
      }
      default:
        throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported`);
    }
  }
}
