// The leak test: one run of the operator (directory source, Nomad, Consul and Grafana doubles on
// loopback, logs at trace) with a distinctive value for every token and every secret reference, then
// every output the operator makes is searched. A token may only travel in its request header; a
// referenced value only in the Nomad Variable the task's template reads; a plain env value only in the
// Nomad job (its documented place). Outputs searched: logs, every file of the state directory
// (status, events, generations, lock), /metrics, /sd/prometheus, /healthz, `get -o json|yaml|wide`,
// `describe`, `plan`, the Nomad double's stored job and every request body it received, Consul's
// registrations and Grafana's annotations.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import { describe as describeCommand } from "../../src/cli/commands/describe.ts";
import { get } from "../../src/cli/commands/get.ts";
import { plan, render as renderPlan } from "../../src/cli/commands/plan.ts";
import type { Operator } from "../../src/cli/compose.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/index.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";

const TOKENS = {
  NOMAD_TOKEN: "nomad-tok-LEAK-3d8a1f",
  CONSUL_HTTP_TOKEN: "consul-tok-LEAK-7b2c9e",
  GRAFANA_TOKEN: "grafana-tok-LEAK-51e0aa",
  GRAFANA_PASSWORD: "grafana-pw-LEAK-c44d12",
} as const;
const BASIC = Buffer.from(`admin:${TOKENS.GRAFANA_PASSWORD}`).toString("base64");
const SECRETS = { DATASET_TOKEN: "dataset-SECRET-9e7f0b", TRACKING_KEY: "tracking-SECRET-2a6d33" };
const PLAIN = "plain-VALUE-80c1e5";
const KEY = makeKey("TrainingJob", "default", "leaky");
const owner = `it-leak-${process.pid}`;

const JOB = `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: leaky }
spec:
  image: registry.example/leaky:1
  resources: { cpu: 500, memoryMB: 256 }
  metrics: { port: 9100 }
  env:
    - { name: EPOCHS, value: "${PLAIN}" }
    - name: DATASET_TOKEN
      valueFrom: { file: { path: dataset-token } }
    - name: TRACKING_KEY
      valueFrom: { file: { path: tracking/creds.yaml, key: apiKey } }
`;

let nomad: NomadDouble;
let consul: ConsulDouble;
let grafana: GrafanaDouble;
let root = "";
let dir = "";
let stateDir = "";
let secretsDir = "";
const saved: Record<string, string | undefined> = {};
let logs = "";

async function until<T>(what: string, fn: () => T | undefined, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function files(path: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await files(full)));
    else out.push(full);
  }
  return out;
}

beforeAll(async () => {
  for (const name of [...Object.keys(TOKENS), "CONSUL_HTTP_ADDR", "GRAFANA_URL", "GRAFANA_USER"]) {
    saved[name] = process.env[name];
  }
  consul = await startConsulDouble({ token: TOKENS.CONSUL_HTTP_TOKEN });
  nomad = await startNomadDouble({
    consul: consul.url,
    consulToken: TOKENS.CONSUL_HTTP_TOKEN,
    tokens: [TOKENS.NOMAD_TOKEN],
    heartbeatMs: 200,
  });
  grafana = await startGrafanaDouble({
    token: TOKENS.GRAFANA_TOKEN,
    basic: { user: "admin", password: TOKENS.GRAFANA_PASSWORD },
  });
  Object.assign(process.env, TOKENS, {
    CONSUL_HTTP_ADDR: consul.url,
    GRAFANA_URL: grafana.url,
    GRAFANA_USER: "admin",
  });
  root = await mkdtemp(join(tmpdir(), "mlops-leak-"));
  dir = join(root, "jobs");
  stateDir = join(root, "state");
  secretsDir = join(root, "secrets");
  await mkdir(join(secretsDir, "tracking"), { recursive: true });
  await mkdir(dir);
  await writeFile(join(secretsDir, "dataset-token"), `${SECRETS.DATASET_TOKEN}\n`);
  await writeFile(join(secretsDir, "tracking", "creds.yaml"), `apiKey: ${SECRETS.TRACKING_KEY}\n`);
  await writeFile(join(dir, "leaky.yaml"), JOB);
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await nomad?.close();
  await consul?.close();
  await grafana?.close();
  await rm(root, { recursive: true, force: true });
});

describe("no token and no secret leaves its intended destination", () => {
  it("searches every output of a full run on Nomad", async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs += String(chunk);
        done();
      },
    });
    const operator = (once = false): Promise<Operator> =>
      buildNomadOperator({
        dir,
        stateDir,
        secretsDir,
        once,
        ownerId: owner,
        nomadAddr: nomad.address,
        log: createLogger({ level: "trace", pretty: false, destination: sink }),
      });
    const outputs: Record<string, string> = {};
    let variable: Record<string, string> | undefined;
    const op = await operator();
    try {
      const address = await op.server.listen();
      await op.source.start();
      op.controller.start();
      const allocs = await until("an allocation", () => {
        const a = nomad.allocations("default", "leaky");
        return a.length === 1 ? a : undefined;
      });
      variable = nomad.state.variables.get("default", "nomad/jobs/leaky")?.Items;
      outputs["the Nomad double's stored job"] = JSON.stringify(nomad.state.job("default", "leaky"));
      for (const alloc of allocs) nomad.lifecycle.running(alloc.ID);
      await until(
        "Running",
        () => (op.source.get(KEY) as TrainingJob | undefined)?.status?.phase === "Running",
      );
      await until("a Grafana annotation", () => grafana.state.annotations.size > 0 || undefined);
      for (const path of ["/metrics", "/sd/prometheus", "/healthz"]) {
        outputs[path] = await (await fetch(`http://${address}${path}`)).text();
      }
    } finally {
      await op.close();
    }
    for (const output of ["json", "yaml", "wide"]) {
      outputs[`get -o ${output}`] = await get("tj", "leaky", { stateDir, output });
    }
    outputs.describe = await describeCommand("tj", "leaky", { stateDir });
    expect(outputs.describe).toContain("DATASET_TOKEN");
    // A changed plain value and a changed secret: plan shows the change, never a value.
    await writeFile(
      join(dir, "leaky.yaml"),
      JOB.replace(PLAIN, `${PLAIN}-2`).replace("cpu: 500", "cpu: 600"),
    );
    await writeFile(join(secretsDir, "dataset-token"), `${SECRETS.DATASET_TOKEN}-2\n`);
    outputs.plan = renderPlan(
      await plan({
        dir,
        stateDir,
        scheduler: "nomad",
        ownerId: owner,
        nomadAddr: nomad.address,
        startupTimeout: 600_000,
        secretsDir,
      }),
    );
    expect(outputs.plan).toContain("spec.env[0].valueHash");
    // Deleting the file purges the job and its Variable (another file keeps the tree from looking
    // emptied by accident, which the directory source would not prune).
    await rm(join(dir, "leaky.yaml"));
    await writeFile(
      join(dir, "other.yaml"),
      "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: { name: other }\nspec: { image: x:1 }\n",
    );
    const second = await operator(true);
    try {
      await second.source.start();
      const summary = await second.controller.runUntilIdle({ timeoutMs: 20_000 });
      expect(summary.failed).toEqual([]);
    } finally {
      await second.close();
    }
    expect(nomad.state.job("default", "leaky")).toBeUndefined();
    expect(nomad.state.variables.get("default", "nomad/jobs/leaky")).toBeUndefined();

    expect(variable).toEqual(SECRETS);
    outputs.logs = logs;
    expect(logs).toContain('"level":20'); // debug lines were written: the level is on
    for (const file of await files(stateDir)) outputs[`state file ${file}`] = await readFile(file, "utf8");
    outputs["Nomad request bodies (jobs, plan)"] = JSON.stringify(
      nomad.requests.filter((r) => r.route !== "/v1/var/:path").map((r) => [r.path, r.query, r.body]),
    );
    outputs["Consul registrations"] = JSON.stringify(consul.state.services());
    outputs["Grafana annotations"] = JSON.stringify([...grafana.state.annotations.values()]);

    const forbidden: Record<string, string> = {
      ...TOKENS,
      "Grafana basic auth": BASIC,
      ...SECRETS,
    };
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(outputs)) {
      for (const [what, value] of Object.entries(forbidden)) {
        if (text.includes(value)) leaks.push(`${what} in ${where}`);
      }
      // A plain env value belongs in the Nomad job only.
      if (
        !where.startsWith("the Nomad double's") &&
        !where.startsWith("Nomad request") &&
        text.includes(PLAIN)
      ) {
        leaks.push(`the plain env value in ${where}`);
      }
    }
    expect(leaks).toEqual([]);
    expect(outputs["the Nomad double's stored job"]).toContain(PLAIN);
    expect(Object.keys(outputs).filter((k) => k.startsWith("state file")).length).toBeGreaterThan(2);
  }, 60_000);
});
