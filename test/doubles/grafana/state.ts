// Server: Grafana 11.5.2, grafana/grafana. Follows: pkg/services/annotations/models.go (ItemDTO),
// pkg/services/annotations/annotationsimpl/xorm_store.go.
// The Grafana double's store: annotations (organisation-wide or on a dashboard), dashboards and data
// sources, with Grafana's answer shapes. Node built-ins only (runs in a stand-in container).
// Follows Grafana 11.5.2: pkg/services/annotations/models.go (ItemDTO), pkg/services/tag/model.go
// (ParseTagPairs), pkg/services/annotations/annotationsimpl/xorm_store.go (search by tag pairs).

import { hasPair, parseTagPairs } from "./tags.ts";

export interface Annotation {
  id: number;
  alertId: number;
  alertName: string;
  dashboardId: number;
  dashboardUID: string;
  panelId: number;
  userId: number;
  userUID: string;
  newState: string;
  prevState: string;
  created: number;
  updated: number;
  time: number;
  timeEnd: number;
  text: string;
  tags: string[];
  login: string;
  email: string;
  avatarUrl: string;
  data: Record<string, unknown>;
}

export interface AnnotationQuery {
  tags: string[];
  matchAny: boolean;
  type?: "alert" | "annotation";
  limit: number;
  from?: number;
  to?: number;
  dashboardUID?: string;
}

export interface Dashboard {
  id: number;
  uid: string;
  slug: string;
  title: string;
  version: number;
  folderUid: string;
  json: Record<string, unknown>;
}

export interface DataSource {
  id: number;
  uid: string;
  orgId: number;
  name: string;
  type: string;
  typeLogoUrl: string;
  access: string;
  url: string;
  user: string;
  database: string;
  basicAuth: boolean;
  isDefault: boolean;
  jsonData: Record<string, unknown>;
  readOnly: boolean;
}

export class GrafanaState {
  readonly annotations = new Map<number, Annotation>();
  readonly dashboards = new Map<string, Dashboard>();
  readonly datasources = new Map<number, DataSource>();
  #nextAnnotation = 1;
  #nextDashboard = 1;
  #nextDatasource = 1;
  now: () => number = Date.now;

  addAnnotation(input: {
    time?: number;
    timeEnd?: number;
    text: string;
    tags?: string[];
    dashboardUID?: string;
    panelId?: number;
    data?: Record<string, unknown>;
  }): Annotation {
    const now = this.now();
    const time = input.time || now;
    const dashboard = input.dashboardUID ? this.dashboards.get(input.dashboardUID) : undefined;
    const annotation: Annotation = {
      id: this.#nextAnnotation++,
      alertId: 0,
      alertName: "",
      dashboardId: dashboard?.id ?? 0,
      dashboardUID: dashboard?.uid ?? "",
      panelId: input.panelId ?? 0,
      userId: 2,
      userUID: "sa-mlops-operator-uid",
      newState: "",
      prevState: "",
      created: now,
      updated: now,
      time,
      timeEnd: input.timeEnd || time,
      text: input.text,
      tags: [...new Set(input.tags ?? [])],
      login: "sa-mlops-operator",
      email: "",
      avatarUrl: "/avatar/46d229b033af06a191ff2267bca9ae56",
      data: input.data ?? {},
    };
    this.annotations.set(annotation.id, annotation);
    return annotation;
  }

  /** Grafana's PATCH semantics: only non-empty fields change. False when the id is unknown. */
  patchAnnotation(
    id: number,
    patch: { time?: number; timeEnd?: number; text?: string; tags?: string[] },
  ): boolean {
    const existing = this.annotations.get(id);
    if (!existing) return false;
    this.annotations.set(id, {
      ...existing,
      ...(patch.time ? { time: patch.time } : {}),
      ...(patch.timeEnd ? { timeEnd: patch.timeEnd } : {}),
      ...(patch.text ? { text: patch.text } : {}),
      ...(patch.tags ? { tags: [...new Set(patch.tags)] } : {}),
      updated: this.now(),
    });
    return true;
  }

  /** GET /api/annotations: newest first (epoch * 1000 + epoch_end, descending), as Grafana orders them. */
  findAnnotations(query: AnnotationQuery): Annotation[] {
    return [...this.annotations.values()]
      .filter((a) => {
        if (query.type === "annotation" && a.alertId !== 0) return false;
        if (query.type === "alert" && a.alertId === 0) return false;
        if (query.dashboardUID !== undefined && a.dashboardUID !== query.dashboardUID) return false;
        if (query.from !== undefined && a.timeEnd < query.from) return false;
        if (query.to !== undefined && a.time > query.to) return false;
        if (query.tags.length === 0) return true;
        // Matched by tag pairs, as Grafana's annotation_tag join does (tags.ts).
        const have = parseTagPairs(a.tags);
        const wanted = parseTagPairs(query.tags);
        return query.matchAny ? wanted.some((t) => hasPair(have, t)) : wanted.every((t) => hasPair(have, t));
      })
      .sort((x, y) => y.time * 1000 + y.timeEnd - (x.time * 1000 + x.timeEnd) || y.id - x.id)
      .slice(0, query.limit);
  }

  /** POST /api/dashboards/db: creates, or with overwrite (or a matching version) updates. */
  saveDashboard(
    json: Record<string, unknown>,
    overwrite: boolean,
    folderUid = "",
  ): Dashboard | "exists" | "version" {
    const title = typeof json.title === "string" ? json.title : "";
    const uid = typeof json.uid === "string" && json.uid !== "" ? json.uid : randomUid();
    const existing = this.dashboards.get(uid);
    if (existing && !overwrite) {
      if (json.version === undefined || json.version !== existing.version)
        return json.id ? "version" : "exists";
    }
    const dashboard: Dashboard = {
      id: existing?.id ?? this.#nextDashboard++,
      uid,
      slug: slugify(title),
      title,
      version: (existing?.version ?? 0) + 1,
      folderUid,
      json,
    };
    this.dashboards.set(uid, dashboard);
    return dashboard;
  }

  addDatasource(input: Partial<DataSource> & { name: string; type: string }): DataSource | "exists" {
    for (const ds of this.datasources.values()) if (ds.name === input.name) return "exists";
    const id = this.#nextDatasource++;
    const ds: DataSource = {
      id,
      uid: input.uid || randomUid(),
      orgId: 1,
      name: input.name,
      type: input.type,
      typeLogoUrl: "",
      access: input.access ?? "proxy",
      url: input.url ?? "",
      user: input.user ?? "",
      database: input.database ?? "",
      basicAuth: input.basicAuth ?? false,
      isDefault: input.isDefault ?? false,
      jsonData: input.jsonData ?? {},
      readOnly: false,
    };
    this.datasources.set(id, ds);
    return ds;
  }
}

/**
 * An annotation as Grafana 11.5.2's API shows it (ItemDTO, pkg/services/annotations/models.go): no
 * field is `omitempty`, so every field is always there: `alertId: 0`, `panelId: 0`, `tags: []`, and an
 * organisation annotation's `dashboardUID` (a nil *string) is `null`.
 */
export function itemDto(annotation: Annotation): Record<string, unknown> {
  return {
    ...annotation,
    dashboardUID: annotation.dashboardUID === "" ? null : annotation.dashboardUID,
    tags: [...annotation.tags],
  };
}

export function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

function randomUid(): string {
  return Math.random().toString(36).slice(2, 11);
}
