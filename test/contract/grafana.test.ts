// Contract: what the Grafana client sends and what the Grafana double answers match Grafana's
// published OpenAPI (strict validators of vendor-specs.ts), except where the real server differs
// (vendor-specs/README.md): /api/dashboards/db answers an integer id and a slug (no title),
// /api/health is not in the spec, ItemDTO carries userUID (Grafana 11+) and a null dashboardUID. With GRAFANA_URL set
// (and GRAFANA_TOKEN or GRAFANA_USER/GRAFANA_PASSWORD), the answers of that real Grafana are checked.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GrafanaClient } from "../../src/clients/grafana/client.ts";
import { grafanaConfig } from "../../src/clients/grafana/config.ts";
import { GrafanaRunAnnotator } from "../../src/trainingjob/adapters/grafana-annotator.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/server.ts";
import {
  describeWithSpecs,
  GRAFANA_SPEC,
  requestValidator,
  responseValidator,
  type StrictOptions,
  schemaValidator,
} from "./vendor-specs.ts";

const real = Boolean(process.env.GRAFANA_URL);
const TOKEN = "glsa_contract_token";
const JSON_SCHEMA = (response: string) =>
  `#/components/responses/${response}/content/application~1json/schema`;

/** Fields Grafana always sends for the operator's annotations, and the documented server differences. */
const options: StrictOptions = {
  required: {
    // No omitempty in Grafana 11.5.2's ItemDTO: zero values are sent too.
    ItemDTO: ["id", "time", "timeEnd", "text", "tags", "alertId", "dashboardUID", "panelId"],
    SuccessResponseBody: ["message"],
    ErrorResponseBody: ["message"],
    PostAnnotationsCmd: ["text", "time", "tags"],
    PatchAnnotationsCmd: ["timeEnd", "tags", "text"],
  },
  exceptions: {
    // userUID: Grafana 11+. dashboardUID is a *string without omitempty (pkg/services/annotations/
    // models.go): an organisation annotation's is null, which the spec's plain string does not allow.
    ItemDTO: { userUID: { type: "string" }, dashboardUID: { type: ["string", "null"] } },
    [JSON_SCHEMA("postDashboardResponse")]: {
      id: { type: "integer" },
      slug: { type: "string" },
      title: false,
    },
  },
};

describeWithSpecs(`Grafana API contract (${real ? `real Grafana at ${process.env.GRAFANA_URL}` : "double"})`, () => {
  let double: GrafanaDouble | undefined;
  let client: GrafanaClient;
  let base = "";
  let auth: Record<string, string> = {};
  const runId = randomUUID().slice(0, 8);

  beforeAll(async () => {
    if (real) {
      const config = grafanaConfig();
      base = config.baseUrl;
      if (config.authorization) auth = { authorization: config.authorization };
      client = new GrafanaClient({ retries: 0 });
    } else {
      double = await startGrafanaDouble({ token: TOKEN });
      base = double.url;
      auth = { authorization: `Bearer ${TOKEN}` };
      client = new GrafanaClient({ url: base, token: TOKEN, env: {}, retries: 0 });
    }
  });
  afterAll(async () => {
    await client?.close();
    await double?.close();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { ...auth, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };

  it("annotation lifecycle: the annotator's requests and Grafana's answers match the spec", async () => {
    const annotator = new GrafanaRunAnnotator(client);
    const run = {
      key: "TrainingJob/contract/job" as const,
      runId,
      startTime: Date.now() - 60_000,
      text: "contract",
    };
    const id = await annotator.started(run);
    await annotator.finished({ ...run, id, endTime: Date.now(), outcome: "Failed", reason: "OOMKilled" });
    if (double) {
      const posts = double.recorded.filter((r) => r.method === "POST" && r.path === "/api/annotations");
      const patches = double.recorded.filter((r) => r.method === "PATCH");
      expect(posts).toHaveLength(1);
      expect(patches).toHaveLength(1);
      for (const p of posts) requestValidator(GRAFANA_SPEC, "/annotations", "post", options).assert(p.body);
      for (const p of patches) {
        requestValidator(GRAFANA_SPEC, "/annotations/{annotation_id}", "patch", options).assert(p.body);
      }
    }
    const found = await call(
      "GET",
      `/api/annotations?tags=run:${runId}&matchAny=false&type=annotation&limit=10`,
    );
    expect(found.status).toBe(200);
    responseValidator(GRAFANA_SPEC, "/annotations", "get", 200, options).assert(found.body);
    expect(found.body).toEqual([expect.objectContaining({ id, tags: expect.arrayContaining(["failed"]) })]);
  });

  it("create and patch answers match postAnnotationResponse and okResponse", async () => {
    const created = await call("POST", "/api/annotations", {
      time: Date.now(),
      tags: ["mlops-contract"],
      text: "x",
    });
    responseValidator(GRAFANA_SPEC, "/annotations", "post", 200, options).assert(created.body);
    expect(created.body).toMatchObject({ message: "Annotation added" });
    const id = (created.body as { id: number }).id;
    const patched = await call("PATCH", `/api/annotations/${id}`, {
      timeEnd: Date.now(),
      tags: ["a"],
      text: "y",
    });
    responseValidator(GRAFANA_SPEC, "/annotations/{annotation_id}", "patch", 200, options).assert(
      patched.body,
    );
    expect(patched.body).toEqual({ message: "Annotation patched" });
    await call("DELETE", `/api/annotations/${id}`);
  });

  it("errors are JSON {message} as documented (401, 404, 400)", async () => {
    const denied = await fetch(`${base}/api/annotations?tags=x`, {
      headers: { authorization: "Bearer wrong" },
    });
    expect(denied.status).toBe(401);
    responseValidator(GRAFANA_SPEC, "/annotations", "get", 401, options).assert(await denied.json());
    const missing = await call("PATCH", "/api/annotations/987654321", { timeEnd: 1, tags: [], text: "z" });
    expect(missing.status).toBe(404);
    responseValidator(GRAFANA_SPEC, "/annotations/{annotation_id}", "patch", 404, options).assert(
      missing.body,
    );
    const bad = await call("POST", "/api/annotations", { time: 1, tags: [] });
    expect(bad.status).toBe(400);
    responseValidator(GRAFANA_SPEC, "/annotations", "post", 400, options).assert(bad.body);
  });

  it("/api/dashboards/db answers an integer id and a slug, as the server does", async () => {
    const uid = `mlops-contract-${runId}`;
    const saved = await call("POST", "/api/dashboards/db", {
      dashboard: { uid, title: "MLOps contract" },
      overwrite: true,
    });
    expect(saved.status).toBe(200);
    responseValidator(GRAFANA_SPEC, "/dashboards/db", "post", 200, options).assert(saved.body);
    expect(saved.body).toMatchObject({ id: expect.any(Number), slug: "mlops-contract", uid });
    expect(() => responseValidator(GRAFANA_SPEC, "/dashboards/db", "post", 200).assert(saved.body)).toThrow(); // the published spec alone would reject the real answer
  });

  it.skipIf(real)("data source creation answers the documented shape", async () => {
    const added = await call("POST", "/api/datasources", {
      name: `prometheus-${runId}`,
      type: "prometheus",
      url: "http://172.20.0.30:9090",
      access: "proxy",
    });
    responseValidator(GRAFANA_SPEC, "/datasources", "post", 200, options).assert(added.body);
    const duplicate = await call("POST", "/api/datasources", {
      name: `prometheus-${runId}`,
      type: "prometheus",
    });
    expect(duplicate.status).toBe(409);
    const list = await call("GET", "/api/datasources");
    responseValidator(GRAFANA_SPEC, "/datasources", "get", 200, options).assert(list.body);
  });

  it("/api/health (not in the spec) answers commit, database and version without auth", async () => {
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["commit", "database", "version"]);
    expect(body.database).toBe("ok");
  });

  it("every item field is sent, zero values too (pkg/services/annotations/models.go ItemDTO, no omitempty)", async () => {
    const made = await call("POST", "/api/annotations", {
      time: Date.now(),
      text: `zero ${runId}`,
      tags: [],
    });
    const id = (made.body as { id: number }).id;
    const found = await call("GET", `/api/annotations?from=${Date.now() - 60_000}&limit=100&type=annotation`);
    const item = (found.body as { id: number }[]).find((a) => a.id === id);
    expect(item).toMatchObject({ alertId: 0, dashboardUID: null, panelId: 0, tags: [] });
    await call("DELETE", `/api/annotations/${id}`);
  });

  it("finds by tag pairs: split on ':', two parts kept, trimmed (pkg/services/tag/model.go ParseTagPairs)", async () => {
    const made = await call("POST", "/api/annotations", {
      time: Date.now(),
      text: "pairs",
      tags: [`p${runId}:a:b`],
    });
    const id = (made.body as { id: number }).id;
    const found = await call(
      "GET",
      `/api/annotations?tags=${encodeURIComponent(`p${runId}:a:zzz`)}&limit=10`,
    );
    expect((found.body as { id: number }[]).map((a) => a.id)).toContain(id);
    await call("DELETE", `/api/annotations/${id}`);
  });

  it("strict validators can fail: undeclared and missing fields are caught", () => {
    const item = schemaValidator(GRAFANA_SPEC, "ItemDTO", options);
    expect(item({ id: 1, time: 1, timeEnd: 1, text: "t", tags: [], surprise: true })).toBe(false);
    expect(item({ id: 1, time: 1, text: "t", tags: [] })).toBe(false);
    const full = {
      id: 1,
      alertId: 0,
      dashboardUID: null,
      panelId: 0,
      time: 1,
      timeEnd: 2,
      text: "t",
      tags: [],
    };
    expect(item(full)).toBe(true);
    // Grafana 11.5.2 has no omitempty on ItemDTO: an item without its zero values is not what it sends.
    expect(item({ id: 1, time: 1, timeEnd: 2, text: "t", tags: ["a"] })).toBe(false);
  });
}, [GRAFANA_SPEC]);
