import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type MlopsStack,
  makeKey,
  type TrainingJob,
  type TrainingJobStatus,
  type TrainingQueue,
} from "../../src/api/resources.ts";
import { webRowFormat } from "../../src/cli/web-format.ts";
import { OperatorServer } from "../../src/observability/server.ts";
import { EventLog, StateStore } from "../../src/sources/state/index.ts";
import { escapeHtml, MAX_STREAMS, PAGE_SIZE, registerWeb, StatusView } from "../../src/web/index.ts";
import { until } from "../polling.ts";

let stateDir: string;
let store: StateStore;
let server: OperatorServer;
let view: StatusView;
let base: string;

function job(name: string, namespace = "default"): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: {
      name,
      namespace,
      generation: 1,
      creationTimestamp: new Date(Date.now() - 90_000).toISOString(),
    },
    spec: {
      image: "registry.local/mnist:1",
      replicas: 1,
      resources: { cpu: 500, memoryMB: 1024, gpus: 0 },
      priority: 50,
      backoffLimit: 3,
      suspend: false,
      env: [{ name: "API_TOKEN", value: "hunter2-secret" }],
    },
  } as TrainingJob;
}

function failed(message: string): TrainingJobStatus {
  return {
    phase: "Failed",
    observedGeneration: 1,
    conditions: [
      {
        type: "Ready",
        status: "False",
        reason: "OOMKilled",
        message,
        lastTransitionTime: new Date().toISOString(),
        observedGeneration: 1,
      },
    ],
    progress: { ratio: 0.42 },
    run: {
      id: "run-7",
      scheduler: "nomad",
      target: "http://127.0.0.1:4646",
      startTime: "2026-05-01T10:00:00.000Z",
      completionTime: "2026-05-01T11:00:00.000Z",
      replicas: [{ index: 0, node: "node-a", state: "failed", exitCode: 137, reason: "OOMKilled" }],
    },
  };
}

async function get(path: string): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

beforeEach(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "mlops-web-test-"));
  store = new StateStore(stateDir);
  await store.writeStatus(job("mnist"), failed(`<script>alert("x")</script> & 'quoted'`));
  const stack: MlopsStack = {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "MlopsStack",
    metadata: { name: "platform", namespace: "default", generation: 1 },
    spec: {},
  } as MlopsStack;
  await store.writeStatus(stack, { observedGeneration: 1, conditions: [] });
  await store.flush();
  const events = new EventLog(stateDir);
  events.event(
    makeKey("TrainingJob", "default", "mnist"),
    "Warning",
    "OOMKilled",
    "replica 0: <b>killed</b>",
  );
  await events.close();
  // The live resources, as the operator's source holds them (env values and all): the page shows a
  // record with its resource's spec, redacted.
  const live = new Map<string, TrainingJob | MlopsStack>([
    [makeKey("TrainingJob", "default", "mnist"), job("mnist")],
    [makeKey("MlopsStack", "default", "platform"), stack],
  ]);
  view = new StatusView(store, { live: (key) => live.get(key) });
  await view.start();
  server = new OperatorServer({ address: "127.0.0.1:0" });
  registerWeb(server, view, webRowFormat, { grafanaUrl: "http://grafana.local/d/mlops-training-runs" });
  base = `http://${await server.listen()}`;
});

afterEach(async () => {
  view.close();
  await server.close();
  await store.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("the status page", () => {
  it("lists every resource with phase, Ready, reason, run, scheduler, progress and age, escaped", async () => {
    const page = await get("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self';");
    expect(page.headers.get("content-security-policy")).not.toContain("unsafe-inline");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const row = page.body.split("\n").find((l) => l.includes(">mnist</a></td>")) ?? "";
    expect(row).toContain(
      '<td>TrainingJob</td><td>default</td><td><a href="/resource?kind=TrainingJob&amp;namespace=default&amp;name=mnist">mnist</a></td><td>Failed</td><td>False</td><td>OOMKilled</td>',
    );
    expect(row).toContain(
      "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;</td>",
    );
    expect(row).toContain(
      "<td>run-7</td><td>nomad</td><td>http://127.0.0.1:4646</td><td>42%</td><td>90s</td>",
    );
    expect(page.body).toContain("<td>MlopsStack</td><td>default</td><td><a href=");
    // One script, from this origin, no inline code; without it the page reloads itself.
    expect(page.body.match(/<script/g)).toEqual(["<script"]);
    expect(page.body).toContain('<script src="/ui/live.js" defer></script>');
    expect(page.body).not.toContain("hunter2-secret");
    expect(page.body).toContain('<noscript><meta http-equiv="refresh" content="5"></noscript>');
    const script = await get("/ui/live.js");
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.body).not.toContain("innerHTML");
    const css = await get("/ui/style.css");
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("shows a change without a restart (the store reports it as it writes)", async () => {
    await store.writeStatus(job("resnet", "vision"), failed("later"));
    const body = (await get("/?namespace=vision")).body;
    expect(body).toContain(">resnet</a></td>");
    expect(body).not.toContain(">mnist</a></td>");
  });

  it("pages at PAGE_SIZE rows with links that keep the filters", async () => {
    for (let i = 0; i < PAGE_SIZE + 5; i++)
      await store.writeStatus(job(`j-${String(i).padStart(4, "0")}`, "many"), failed("m"));
    const first = await get("/?namespace=many");
    expect(first.body.match(/<tr class=/g)).toHaveLength(PAGE_SIZE);
    expect(first.body).toContain('href="?namespace=many&amp;page=2" rel="next"');
    const second = await get("/?namespace=many&page=2");
    expect(second.body.match(/<tr class=/g)).toHaveLength(5);
    expect(second.body).toContain("page 2 of 2");
  });
});

describe("a resource's page", () => {
  it("shows conditions, replicas with exit codes, recent events, env names only and a Grafana link", async () => {
    const page = await get("/resource?kind=TrainingJob&namespace=default&name=mnist");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.body).toContain("<h1>TrainingJob default/mnist</h1>");
    expect(page.body).toContain("<td>Ready</td><td>False</td><td>OOMKilled</td><td>&lt;script&gt;");
    expect(page.body).toContain(
      "<td>0</td><td>node-a</td><td>failed</td><td>137</td><td></td><td>OOMKilled</td>",
    );
    expect(page.body).toContain(
      "<td>Warning</td><td>OOMKilled</td><td>replica 0: &lt;b&gt;killed&lt;/b&gt;</td><td>1</td>",
    );
    expect(page.body).toContain('<th scope="row">Env (names only)</th><td>API_TOKEN</td>');
    expect(page.body).not.toContain("hunter2-secret");
    expect(page.body).toContain(
      `href="http://grafana.local/d/mlops-training-runs?from=${Date.parse("2026-05-01T10:00:00.000Z")}&amp;to=${Date.parse("2026-05-01T11:00:00.000Z")}"`,
    );
    expect(page.body).not.toContain("<script");
  });

  it("a TrainingQueue's page shows its admitted runs and its waiting line, each job linked to its page", async () => {
    const queue = {
      apiVersion: "mlops.dev/v1alpha1",
      kind: "TrainingQueue",
      metadata: { name: "gpus", namespace: "team-a", generation: 1 },
      spec: { quota: { runs: 1 } },
    } as unknown as TrainingQueue;
    await store.writeStatus(queue, { pending: 2, admitted: 1 });
    const admitted = (type: "True" | "False", reason: string) => [
      { type: "Admitted", status: type, reason, message: "", lastTransitionTime: "2026-05-01T10:00:00.000Z" },
    ];
    const queued = (name: string, status: object) =>
      store.writeStatus(
        { ...job(name, "team-a"), spec: { ...job(name).spec, queue: "gpus" } },
        status as never,
      );
    await queued("running", {
      phase: "Running",
      queue: { name: "gpus", queuedAt: "2026-05-01T09:00:00.000Z", admittedAt: "2026-05-01T10:00:00.000Z" },
      conditions: admitted("True", "Admitted"),
    });
    await queued("b-second", {
      phase: "Queued",
      queue: { name: "gpus", position: 2, queuedAt: "2026-05-01T09:30:00.000Z" },
      conditions: admitted("False", "WaitingForQuota"),
    });
    await queued("a-first", {
      phase: "Queued",
      queue: { name: "gpus", position: 1, queuedAt: "2026-05-01T09:40:00.000Z" },
      conditions: admitted("False", "WaitingForQuota"),
    });
    await until("the view holds the queue's jobs", () => view.list().length === 6 || undefined);
    const page = await get("/resource?kind=TrainingQueue&namespace=team-a&name=gpus");
    expect(page.status).toBe(200);
    const link = (name: string) =>
      `<a href="/resource?kind=TrainingJob&amp;namespace=team-a&amp;name=${name}">${name}</a>`;
    const admittedAt = page.body.indexOf("<h2>Admitted runs</h2>");
    const waitingAt = page.body.indexOf("<h2>Waiting runs (position 1 is admitted next)</h2>");
    expect(admittedAt).toBeGreaterThan(0);
    expect(waitingAt).toBeGreaterThan(admittedAt);
    expect(page.body.slice(admittedAt, waitingAt)).toContain(
      `<td>${link("running")}</td><td>50</td><td>cpu=500,memoryMB=1024,runs=1</td><td>Running</td><td>2026-05-01T10:00:00.000Z</td>`,
    );
    const waiting = page.body.slice(waitingAt);
    expect(waiting.indexOf(link("a-first"))).toBeGreaterThan(0);
    expect(waiting.indexOf(link("b-second"))).toBeGreaterThan(waiting.indexOf(link("a-first")));
    expect(waiting).toContain(`<td>1</td><td>${link("a-first")}</td><td>50</td>`);
    // A TrainingJob's page has no such tables.
    const jobPage = await get("/resource?kind=TrainingJob&namespace=team-a&name=running");
    expect(jobPage.body).not.toContain("Admitted runs");
  });

  it.each([
    "/resource?kind=TrainingJob&namespace=default&name=none",
    "/resource?kind=Nope&namespace=a&name=b",
    "/resource",
  ])("answers 404 for %s", async (path) => expect((await get(path)).status).toBe(404));
});

describe("the JSON API", () => {
  it("answers a List of every kind, and one per kind, as get -o json prints them", async () => {
    const all = await get("/api/v1/resources");
    expect(all.headers.get("content-type")).toBe("application/json");
    const list = JSON.parse(all.body) as {
      kind: string;
      items: { kind: string; metadata: { name: string } }[];
    };
    expect(list.kind).toBe("List");
    expect(list.items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual([
      "TrainingJob/mnist",
      "MlopsStack/platform",
    ]);
    expect(all.body).not.toContain("hunter2-secret");
    // Each with its spec (the view's records hold none): the live resource's, env values redacted.
    const mnist = (JSON.parse(all.body) as { items: { spec: { image?: string; env?: unknown[] } }[] })
      .items[0];
    expect(mnist?.spec.image).toBe("registry.local/mnist:1");
    expect(mnist?.spec.env).toEqual([
      { name: "API_TOKEN", valueHash: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) },
    ]);
    const jobs = JSON.parse((await get("/api/v1/trainingjobs")).body) as typeof list;
    expect(jobs.items.map((i) => i.metadata.name)).toEqual(["mnist"]);
    const stacks = JSON.parse((await get("/api/v1/mlopsstacks?namespace=other")).body) as typeof list;
    expect(stacks.items).toEqual([]);
  });

  it("is read-only", async () => {
    const res = await fetch(`${base}/api/v1/trainingjobs`, { method: "POST", body: "{}" });
    expect(res.status).toBe(405);
  });
});

describe("escapeHtml", () => {
  it.each([
    ["plain", "plain"],
    [`<a href="x">'&'</a>`, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"],
  ])("%s", (text, want) => expect(escapeHtml(text)).toBe(want));
});

/** Reads server-sent events from /api/v1/watch until `count` data lines arrived. */
async function events(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
  buffer: { text: string },
): Promise<
  { type: string; object: { kind: string; metadata: { name: string }; status?: { phase?: string } } }[]
> {
  const decoder = new TextDecoder();
  for (;;) {
    // Whole messages only (each ends with a blank line); those with a data line are events.
    const blocks = buffer.text.split("\n\n").slice(0, -1);
    const data: string[] = [];
    let used = 0;
    let cut = 0;
    for (const block of blocks) {
      if (used === count) break;
      cut += block.length + 2;
      const line = block.split("\n").find((l) => l.startsWith("data: "));
      if (line) {
        data.push(line.slice("data: ".length));
        used++;
      }
    }
    if (used === count) {
      buffer.text = buffer.text.slice(cut);
      return data.map((d) => JSON.parse(d));
    }
    const { value, done } = await reader.read();
    if (done) throw new Error("stream ended");
    buffer.text += decoder.decode(value, { stream: true });
  }
}

describe("the event stream", () => {
  it("opens with every resource, then sends each change as one JSON data line", {
    timeout: 10_000,
  }, async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/v1/watch`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const buffer = { text: "" };
    const initial = await events(reader, 2, buffer);
    expect(initial.map((e) => `${e.type} ${e.object.kind}/${e.object.metadata.name}`)).toEqual([
      "ADDED TrainingJob/mnist",
      "ADDED MlopsStack/platform",
    ]);
    await store.writeStatus(job("mnist"), { ...failed("again"), phase: "Running" });
    await store.flush();
    const [changed] = await events(reader, 1, buffer);
    expect(changed?.type).toBe("MODIFIED");
    expect(changed?.object.status?.phase).toBe("Running");
    expect(JSON.stringify(changed)).not.toContain("hunter2-secret");
    controller.abort();
  });

  it("resumes from the change a page was rendered at (?since) and from Last-Event-ID; another process's or a lost number sends everything", {
    timeout: 10_000,
  }, async () => {
    const page = await (await fetch(`${base}/`)).text();
    const rendered = /<body data-version="([^"]+)">/.exec(page)?.[1] ?? "";
    expect(rendered).toMatch(/^[0-9a-z]+\.\d+$/);
    // A change after the page was rendered, before its script opened the stream: not lost.
    await store.writeStatus(job("mnist"), { ...failed("between"), phase: "Running" });
    await store.flush();
    await until("the view saw it", () => view.version > Number(rendered.split(".")[1]));
    const open = async (url: string, headers: Record<string, string> = {}) => {
      const controller = new AbortController();
      const res = await fetch(url, { signal: controller.signal, headers });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      return { controller, reader, buffer: { text: "" } };
    };
    const resumed = await open(`${base}/api/v1/watch?since=${encodeURIComponent(rendered)}`);
    const [missed] = await events(resumed.reader, 1, resumed.buffer);
    expect(missed?.type).toBe("MODIFIED");
    expect(missed?.object.status?.phase).toBe("Running");
    const id = /id: (\S+)/.exec(resumed.buffer.text || "")?.[1];
    resumed.controller.abort();

    // A reconnecting EventSource sends the last id it saw: nothing since, so only what comes next.
    const lastId = `${view.epoch}.${view.version}`;
    expect(id === undefined || id === lastId).toBe(true);
    const reconnect = await open(`${base}/api/v1/watch`, { "Last-Event-ID": lastId });
    await store.writeStatus(job("mnist"), { ...failed("after"), phase: "Succeeded" });
    await store.flush();
    const [next] = await events(reconnect.reader, 1, reconnect.buffer);
    expect(next?.object.status?.phase).toBe("Succeeded");
    reconnect.controller.abort();

    for (const stale of ["0000.1", `${view.epoch}.-1`, "garbage"]) {
      const fresh = await open(`${base}/api/v1/watch?since=${encodeURIComponent(stale)}`);
      const all = await events(fresh.reader, 2, fresh.buffer);
      expect(all.map((e) => e.type)).toEqual(["ADDED", "ADDED"]);
      fresh.controller.abort();
    }
  });

  it(`answers 503 beyond ${MAX_STREAMS} streams at once`, { timeout: 10_000 }, async () => {
    const controller = new AbortController();
    const open = await Promise.all(
      Array.from({ length: MAX_STREAMS }, () => fetch(`${base}/api/v1/watch`, { signal: controller.signal })),
    );
    expect(open.every((r) => r.status === 200)).toBe(true);
    const extra = await fetch(`${base}/api/v1/watch`);
    expect(extra.status).toBe(503);
    controller.abort();
  });
});
