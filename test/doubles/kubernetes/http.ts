// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows:
// staging/src/k8s.io/apiserver/pkg/endpoints/handlers (list paging, Status replies).
// HTTP plumbing of the Kubernetes API double: paths, paged lists, bodies, JSON and Status replies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { API_VERSION, ApiFailure, GROUP, type KubeState, RESOURCES, statusObject, VERSION } from "./state.ts";

export interface Reply {
  code: number;
  body: unknown;
}

export const reply = (code: number, body: unknown): Reply => ({ code, body });

export interface Route {
  plural: string;
  namespace?: string;
  name?: string;
  status: boolean;
}

/** /apis/mlops.dev/v1alpha1[/namespaces/NS]/PLURAL[/NAME[/status]] */
export function parsePath(path: string): Route | undefined {
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  if (parts[0] !== "apis" || parts[1] !== GROUP || parts[2] !== VERSION) return undefined;
  let rest = parts.slice(3);
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub, ...extra] = rest;
  if (!plural || !(plural in RESOURCES) || extra.length > 0 || (sub !== undefined && sub !== "status")) {
    return undefined;
  }
  return {
    plural,
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
    status: sub === "status",
  };
}

export function pluralOf(kind: string): string {
  const found = Object.entries(RESOURCES).find(([, k]) => k === kind);
  if (!found) throw new Error(`the double serves no kind ${kind}`);
  return found[0];
}

/** A list, in pages when `limit` is set: `continue` carries the offset and the first page's version. */
export function listPage(
  state: KubeState,
  plural: string,
  namespace: string | undefined,
  query: Record<string, string>,
): Reply {
  const all = state.list(plural, namespace);
  let offset = 0;
  let resourceVersion = state.resourceVersion;
  if (query.continue) {
    try {
      const token = JSON.parse(Buffer.from(query.continue, "base64url").toString("utf8")) as {
        o: number;
        rv: string;
      };
      offset = token.o;
      resourceVersion = token.rv;
    } catch {
      throw new ApiFailure(400, "BadRequest", "continue key is not valid");
    }
  }
  const limit = query.limit ? Number(query.limit) : 0;
  const end = limit > 0 ? offset + limit : all.length;
  const next =
    end < all.length
      ? Buffer.from(JSON.stringify({ o: end, rv: resourceVersion })).toString("base64url")
      : "";
  return reply(200, {
    apiVersion: API_VERSION,
    kind: `${RESOURCES[plural]}List`,
    metadata: { ...(next ? { continue: next } : {}), resourceVersion },
    items: all.slice(offset, end),
  });
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(res: ServerResponse, failure: ApiFailure): void {
  sendJson(res, failure.code, statusObject(failure));
}
