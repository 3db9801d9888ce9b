// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows:
// staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go,
// staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go.
// One watch of the Kubernetes API double: a chunked 200 response of JSON lines. From version N it
// replays the window's events after N (or, from none or "0", an ADDED event per current object),
// then follows new ones; a version older than the window is one ERROR event carrying a 410 Expired
// Status, then the end (as the API server's watch cache answers). BOOKMARKs carry the current
// version; timeoutSeconds ends the watch normally. Tests can stall it (silent, still connected).
import type { ServerResponse } from "node:http";
import {
  API_VERSION,
  ApiFailure,
  type KubeState,
  RESOURCES,
  type StoredEvent,
  statusObject,
} from "./state.ts";

export interface WatchRequest {
  plural: string;
  namespace?: string;
  resourceVersion?: string;
  /** 0: no bookmarks. */
  bookmarkMs: number;
  timeoutMs?: number;
}

export interface WatchStream {
  readonly closed: Promise<void>;
  /** Ends the response normally (as timeoutSeconds does). */
  end(): void;
  /** Drops the connection. */
  destroy(): void;
  /** Sends nothing more, keeps the connection. */
  stall(): void;
}

export function openWatch(res: ServerResponse, state: KubeState, request: WatchRequest): WatchStream {
  const { plural, namespace } = request;
  let stalled = false;
  let done = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = (): void => {};
  let resolveClosed = (): void => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const finish = (): void => {
    if (done) return;
    done = true;
    for (const t of timers) clearInterval(t);
    unsubscribe();
    resolveClosed();
  };
  res.on("close", finish);
  res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
  const send = (type: string, object: unknown): void => {
    if (!stalled && !done) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const stream: WatchStream = {
    closed,
    end: () => {
      finish();
      res.end();
    },
    destroy: () => {
      finish();
      res.destroy();
    },
    stall: () => {
      stalled = true;
    },
  };
  const matches = (event: StoredEvent): boolean =>
    event.plural === plural && (namespace === undefined || event.object.metadata.namespace === namespace);

  const rv = request.resourceVersion;
  if (rv === undefined || rv === "" || rv === "0") {
    for (const object of state.list(plural, namespace)) send("ADDED", object);
  } else {
    const since = Number(rv);
    const events = Number.isInteger(since) ? state.eventsSince(plural, since) : "gone";
    if (events === "gone") {
      const failure = new ApiFailure(
        410,
        "Expired",
        `too old resource version: ${rv} (${state.oldestResumable})`,
      );
      send("ERROR", statusObject(failure));
      stream.end();
      return stream;
    }
    for (const event of events) if (matches(event)) send(event.type, event.object);
  }
  unsubscribe = state.onEvent((event) => {
    if (matches(event)) send(event.type, event.object);
  });
  if (request.bookmarkMs > 0) {
    timers.push(
      setInterval(() => {
        send("BOOKMARK", {
          apiVersion: API_VERSION,
          kind: RESOURCES[plural],
          metadata: { resourceVersion: state.resourceVersion },
        });
      }, request.bookmarkMs),
    );
  }
  if (request.timeoutMs !== undefined && request.timeoutMs > 0) {
    timers.push(setTimeout(() => stream.end(), request.timeoutMs));
  }
  return stream;
}
