// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: pkg/registry/core/event/
// strategy.go (namespaced; ToSelectableFields: involvedObject.{kind,namespace,name,uid,apiVersion,
// resourceVersion,fieldPath}, reason, reportingComponent, source, type, metadata.name and
// metadata.namespace), pkg/apis/core/validation/events.go (legacyValidateEvent: an Event without
// eventTime must carry involvedObject.namespace equal to its own namespace; metadata.name required),
// staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go (a body namespace other than the
// path's: 400 BadRequest), handlers/patch.go (PATCH of a missing object: 404 NotFound, since
// createNewObject refuses json and strategic merge patches; strategic merge of an Event's scalar
// fields is a JSON merge), registry/generic/registry/store.go (409 AlreadyExists on create, a new
// resourceVersion on every write), and the Event TTL (--event-ttl, 1 h), which tests trigger with
// expire(). Core v1 Events in the Kubernetes double: POST, PATCH, GET one, GET list (namespaced or
// all namespaces) with fieldSelector.
import { randomUUID } from "node:crypto";
import { applyMergePatch } from "./merge-patch.ts";
import { ApiFailure, type StoredMeta } from "./state.ts";

const NAMESPACED = /^\/api\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/;
const ALL = /^\/api\/v1\/events$/;

export interface StoredEvent {
  apiVersion: "v1";
  kind: "Event";
  metadata: StoredMeta;
  involvedObject: Record<string, string | undefined>;
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
  [key: string]: unknown;
}

const PATCH_TYPES = ["application/merge-patch+json", "application/strategic-merge-patch+json"];

export class EventStore {
  readonly #events = new Map<string, StoredEvent>();
  /** Writes by verb, for tests. */
  readonly writes = { create: 0, patch: 0 };
  #version = 1;

  /** Every stored Event, oldest first. */
  list(namespace?: string): StoredEvent[] {
    return [...this.#events.values()].filter((e) => !namespace || e.metadata.namespace === namespace);
  }

  /** The API server's TTL ran out for this Event: it is gone. */
  expire(namespace: string, name: string): boolean {
    return this.#events.delete(`${namespace}/${name}`);
  }

  route(
    method: string,
    path: string,
    query: Record<string, string>,
    contentType: string | undefined,
    body: unknown,
  ): { code: number; body: unknown } | undefined {
    if (ALL.test(path)) {
      if (method !== "GET")
        throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on events`);
      return this.#list(undefined, query);
    }
    const m = NAMESPACED.exec(path);
    if (!m) return undefined;
    const namespace = decodeURIComponent(m[1] as string);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (name === undefined) {
      if (method === "GET") return this.#list(namespace, query);
      if (method === "POST") return { code: 201, body: this.#create(namespace, body) };
      throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on events`);
    }
    const current = this.#events.get(`${namespace}/${name}`);
    if (!current)
      throw new ApiFailure(404, "NotFound", `events "${name}" not found`, { name, kind: "events" });
    if (method === "GET") return { code: 200, body: current };
    if (method !== "PATCH")
      throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on an event`);
    if (!contentType || !PATCH_TYPES.includes(contentType)) {
      throw new ApiFailure(
        415,
        "UnsupportedMediaType",
        `the double supports ${PATCH_TYPES.join(" and ")} on events, not ${contentType ?? "(none)"}`,
      );
    }
    const patched = applyMergePatch(current, body) as StoredEvent;
    this.writes.patch++;
    const stored: StoredEvent = {
      ...patched,
      apiVersion: "v1",
      kind: "Event",
      metadata: { ...current.metadata, resourceVersion: String(++this.#version) },
    };
    this.#events.set(`${namespace}/${name}`, stored);
    return { code: 200, body: stored };
  }

  #create(namespace: string, body: unknown): StoredEvent {
    const object = (body ?? {}) as {
      metadata?: { name?: string; namespace?: string };
      involvedObject?: Record<string, string | undefined>;
      eventTime?: unknown;
    };
    const meta: { name?: string; namespace?: string } = object.metadata ?? {};
    if (meta.namespace && meta.namespace !== namespace) {
      throw new ApiFailure(
        400,
        "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const name = meta.name;
    if (!name)
      throw new ApiFailure(
        422,
        "Invalid",
        'Event.core "" is invalid: metadata.name: Required value: name or generateName is required',
      );
    const involved: Record<string, string | undefined> = object.involvedObject ?? {};
    if (object.eventTime === undefined && (involved.namespace ?? "") !== namespace) {
      throw new ApiFailure(
        422,
        "Invalid",
        `Event.core "${name}" is invalid: involvedObject.namespace: Invalid value: "${involved.namespace ?? ""}": does not match event.namespace`,
        { name, kind: "Event" },
      );
    }
    if (this.#events.has(`${namespace}/${name}`)) {
      throw new ApiFailure(409, "AlreadyExists", `events "${name}" already exists`, { name, kind: "events" });
    }
    this.writes.create++;
    const stored: StoredEvent = {
      ...(object as StoredEvent),
      apiVersion: "v1",
      kind: "Event",
      involvedObject: { ...involved },
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: String(++this.#version),
        creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
    };
    this.#events.set(`${namespace}/${name}`, stored);
    return stored;
  }

  #list(namespace: string | undefined, query: Record<string, string>): { code: number; body: unknown } {
    const selector = parseFieldSelector(query.fieldSelector ?? "");
    const items = this.list(namespace).filter((e) => {
      const fields = selectableFields(e);
      return selector.every(({ field, op, value }) => (fields[field] === value) === (op === "="));
    });
    return {
      code: 200,
      body: {
        kind: "EventList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(this.#version) },
        items,
      },
    };
  }
}

function selectableFields(e: StoredEvent): Record<string, string> {
  const o = e.involvedObject;
  return {
    "metadata.name": e.metadata.name,
    "metadata.namespace": e.metadata.namespace,
    "involvedObject.kind": o.kind ?? "",
    "involvedObject.namespace": o.namespace ?? "",
    "involvedObject.name": o.name ?? "",
    "involvedObject.uid": o.uid ?? "",
    "involvedObject.apiVersion": o.apiVersion ?? "",
    "involvedObject.resourceVersion": o.resourceVersion ?? "",
    "involvedObject.fieldPath": o.fieldPath ?? "",
    reason: e.reason ?? "",
    reportingComponent: e.reportingComponent ?? "",
    source: e.source?.component || e.reportingComponent || "",
    type: e.type ?? "",
  };
}

/** `a=b,c==d,e!=f`; an unknown field is the API server's 400 "field label not supported". */
function parseFieldSelector(text: string): { field: string; op: "=" | "!="; value: string }[] {
  if (text.trim() === "") return [];
  const known = new Set(Object.keys(selectableFields({ metadata: {}, involvedObject: {} } as StoredEvent)));
  return text.split(",").map((term) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!m)
      throw new ApiFailure(400, "BadRequest", `invalid selector: '${text}'; can't understand '${term}'`);
    const field = (m[1] as string).trim();
    if (!known.has(field)) throw new ApiFailure(400, "BadRequest", `field label not supported: ${field}`);
    return { field, op: m[2] === "!=" ? "!=" : "=", value: m[3] as string };
  });
}
