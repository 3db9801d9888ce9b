// Server: Grafana 11.5.2, grafana/grafana. Follows: pkg/api/annotations.go, pkg/api/dashboard.go,
// pkg/api/datasources.go, pkg/api/health.go.
// The Grafana double's HTTP routes with Grafana's answer shapes: annotations (create, patch, find,
// get, delete), dashboards (/api/dashboards/db answers an integer id and a slug, as the server does,
// not the spec's string id and title), data sources, and /api/health. Errors are JSON {"message"}.
import { type GrafanaState, itemDto } from "./state.ts";

export interface Reply {
  status: number;
  body: unknown;
}

export const GRAFANA_VERSION = "12.1.1";
export const GRAFANA_COMMIT = "df5de8219b41d1e639e003bf5f3a85913761d167";

const message = (status: number, text: string): Reply => ({ status, body: { message: text } });

export function routeTemplate(method: string, path: string): string {
  const templated = path
    .replace(/^\/api\/annotations\/\d+$/, "/api/annotations/:id")
    .replace(/^\/api\/dashboards\/uid\/[^/]+$/, "/api/dashboards/uid/:uid")
    .replace(/^\/api\/datasources\/\d+$/, "/api/datasources/:id");
  return `${method} ${templated}`;
}

export function health(databaseOk: boolean): Reply {
  return {
    status: databaseOk ? 200 : 503,
    body: { commit: GRAFANA_COMMIT, database: databaseOk ? "ok" : "failing", version: GRAFANA_VERSION },
  };
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isTags = (v: unknown): v is string[] => Array.isArray(v) && v.every((t) => typeof t === "string");

export function route(state: GrafanaState, method: string, url: URL, body: unknown): Reply {
  const path = url.pathname;
  const annotation = /^\/api\/annotations\/(\d+)$/.exec(path);
  if (path === "/api/annotations" && method === "POST") {
    if (!isObject(body) || typeof body.text !== "string" || body.text === "") {
      return message(400, "Failed to save annotation");
    }
    for (const f of ["time", "timeEnd", "panelId", "dashboardId"] as const) {
      if (body[f] !== undefined && !isInt(body[f])) return message(400, "bad request data");
    }
    if (body.tags !== undefined && !isTags(body.tags)) return message(400, "bad request data");
    if (
      typeof body.dashboardUID === "string" &&
      body.dashboardUID !== "" &&
      !state.dashboards.has(body.dashboardUID)
    ) {
      return message(404, "Dashboard not found");
    }
    const created = state.addAnnotation({
      text: body.text,
      ...(isInt(body.time) ? { time: body.time } : {}),
      ...(isInt(body.timeEnd) ? { timeEnd: body.timeEnd } : {}),
      ...(isTags(body.tags) ? { tags: body.tags } : {}),
      ...(typeof body.dashboardUID === "string" ? { dashboardUID: body.dashboardUID } : {}),
      ...(isInt(body.panelId) ? { panelId: body.panelId } : {}),
    });
    return { status: 200, body: { message: "Annotation added", id: created.id } };
  }
  if (path === "/api/annotations" && method === "GET") {
    const q = url.searchParams;
    const num = (name: string): number | undefined => (q.has(name) ? Number(q.get(name)) : undefined);
    const type = q.get("type");
    const from = num("from");
    const to = num("to");
    const dashboardUID = q.get("dashboardUID");
    return {
      status: 200,
      body: state
        .findAnnotations({
          tags: q.getAll("tags"),
          matchAny: q.get("matchAny") === "true",
          limit: num("limit") || 100,
          ...(type === "alert" || type === "annotation" ? { type } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(dashboardUID !== null ? { dashboardUID } : {}),
        })
        .map(itemDto),
    };
  }
  if (annotation) {
    const id = Number(annotation[1]);
    if (method === "PATCH") {
      if (!isObject(body)) return message(400, "bad request data");
      if (body.tags !== undefined && !isTags(body.tags)) return message(400, "bad request data");
      for (const f of ["time", "timeEnd"] as const) {
        if (body[f] !== undefined && !isInt(body[f])) return message(400, "bad request data");
      }
      const ok = state.patchAnnotation(id, {
        ...(isInt(body.time) ? { time: body.time } : {}),
        ...(isInt(body.timeEnd) ? { timeEnd: body.timeEnd } : {}),
        ...(typeof body.text === "string" ? { text: body.text } : {}),
        ...(isTags(body.tags) ? { tags: body.tags } : {}),
      });
      return ok ? message(200, "Annotation patched") : message(404, "Could not find annotation to update");
    }
    if (method === "GET") {
      const found = state.annotations.get(id);
      return found ? { status: 200, body: itemDto(found) } : message(404, "Annotation not found");
    }
    if (method === "DELETE") {
      return state.annotations.delete(id)
        ? message(200, "Annotation deleted")
        : message(404, "Annotation not found");
    }
  }
  if (path === "/api/dashboards/db" && method === "POST") {
    if (!isObject(body) || !isObject(body.dashboard)) return message(400, "bad request data");
    const title = body.dashboard.title;
    if (typeof title !== "string" || title.trim() === "")
      return message(400, "Dashboard title cannot be empty");
    const saved = state.saveDashboard(
      body.dashboard,
      body.overwrite === true,
      typeof body.folderUid === "string" ? body.folderUid : "",
    );
    if (saved === "exists") {
      return {
        status: 412,
        body: { message: "A dashboard with the same uid already exists", status: "name-exists" },
      };
    }
    if (saved === "version") {
      return {
        status: 412,
        body: { message: "The dashboard has been changed by someone else", status: "version-mismatch" },
      };
    }
    return {
      status: 200,
      body: {
        id: saved.id,
        slug: saved.slug,
        status: "success",
        uid: saved.uid,
        url: `/d/${saved.uid}/${saved.slug}`,
        version: saved.version,
      },
    };
  }
  const byUid = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(path);
  if (byUid && method === "GET") {
    const d = state.dashboards.get(decodeURIComponent(byUid[1] as string));
    if (!d) return message(404, "Dashboard not found");
    return {
      status: 200,
      body: {
        dashboard: { ...d.json, id: d.id, uid: d.uid, version: d.version },
        meta: { slug: d.slug, url: `/d/${d.uid}/${d.slug}`, version: d.version, folderUid: d.folderUid },
      },
    };
  }
  if (path === "/api/datasources" && method === "GET")
    return { status: 200, body: [...state.datasources.values()] };
  if (path === "/api/datasources" && method === "POST") {
    if (!isObject(body) || typeof body.name !== "string" || typeof body.type !== "string") {
      return message(400, "bad request data");
    }
    const added = state.addDatasource(body as { name: string; type: string });
    if (added === "exists") return message(409, "data source with the same name already exists");
    const datasource = {
      ...added,
      basicAuthUser: "",
      withCredentials: false,
      secureJsonFields: {},
      version: 1,
    };
    return { status: 200, body: { datasource, id: added.id, message: "Datasource added", name: added.name } };
  }
  if (path.startsWith("/api/")) return message(404, "Not found");
  return { status: 404, body: { message: "Not found" } };
}
