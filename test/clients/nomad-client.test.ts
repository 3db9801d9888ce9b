import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NomadClient, NomadError, nomadConfig } from "../../src/clients/nomad/index.ts";
import { nomadJob } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const TOKEN = "s3cr3t-token-value-1234";

const job = (id: string, meta: Record<string, string> = {}, namespace = "default") =>
  nomadJob(id, namespace, meta);

async function reason(promise: Promise<unknown>): Promise<NomadError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(NomadError);
    return error as NomadError;
  }
  throw new Error("expected a NomadError");
}

describe("nomadConfig", () => {
  it("reads the HashiCorp environment variables; options win", () => {
    const env = {
      NOMAD_ADDR: "10.0.0.5:4646/",
      NOMAD_TOKEN: "t",
      NOMAD_REGION: "eu",
      NOMAD_NAMESPACE: "ml",
      NOMAD_CACERT: "/ca.pem",
      NOMAD_CLIENT_CERT: "/c.pem",
      NOMAD_CLIENT_KEY: "/k.pem",
      NOMAD_TLS_SERVER_NAME: "server.global.nomad",
      NOMAD_SKIP_VERIFY: "false",
    };
    expect(nomadConfig({}, env)).toEqual({
      address: "http://10.0.0.5:4646",
      token: "t",
      region: "eu",
      namespace: "ml",
      tls: { caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem", serverName: "server.global.nomad" },
    });
    expect(nomadConfig({ address: "https://n:4646", region: "us" }, env)).toMatchObject({
      address: "https://n:4646",
      region: "us",
    });
    expect(nomadConfig({}, { NOMAD_SKIP_VERIFY: "1" }).tls).toEqual({ insecureSkipVerify: true });
    expect(nomadConfig({}, {})).toEqual({ address: "http://127.0.0.1:4646" });
  });
});

describe("NomadClient against the Nomad double", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  beforeEach(async () => {
    nomad = await startNomadDouble({ namespaces: ["team-a"] });
    client = new NomadClient({ address: nomad.address, retries: 2 }, {});
  });
  afterEach(async () => {
    await client.close();
    await nomad.close();
  });

  it("registers with check-and-set; a stale index is a NomadConflict", async () => {
    const first = await client.register(job("a"), { enforceIndex: 0 });
    expect(first.JobModifyIndex).toBeGreaterThan(0);
    expect((await reason(client.register(job("a"), { enforceIndex: 0 }))).reason).toBe("NomadConflict");
    const read = await client.readJob("a", "default");
    expect(read?.JobModifyIndex).toBe(first.JobModifyIndex);
    const second = await client.register(job("a", { v: "2" }), { enforceIndex: first.JobModifyIndex });
    expect(second.JobModifyIndex).toBeGreaterThan(first.JobModifyIndex);
    const stale = await reason(client.register(job("a", { v: "3" }), { enforceIndex: first.JobModifyIndex }));
    expect(stale.reason).toBe("NomadConflict");
    expect(stale.message).toContain("Enforcing job modify index");
  });

  it("a conflict through a forwarding agent (`rpc error: Enforcing job modify index …`) is a NomadConflict", async () => {
    // helper/pool/pool.go wraps the leader's error; command/job_run.go matches it by substring.
    nomad.forwarded = true;
    const first = await client.register(job("a"), { enforceIndex: 0 });
    const conflict = await reason(client.register(job("a", { v: "2" }), { enforceIndex: 0 }));
    expect(conflict.body).toMatch(/^rpc error: Enforcing job modify index 0/);
    expect(conflict.reason).toBe("NomadConflict");
    const stale = await reason(
      client.register(job("a", { v: "3" }), { enforceIndex: first.JobModifyIndex - 1 }),
    );
    expect(stale.reason).toBe("NomadConflict");
    const missing = await reason(client.register(job("b", {}, "nope")));
    expect(missing.body).toMatch(/^rpc error: job "b" is in nonexistent namespace/);
    expect(missing.reason).toBe("NamespaceNotFound");
  });

  it("registering an unchanged batch job is a no-op (same version, no new allocations)", async () => {
    const first = await client.register(job("a"));
    const again = await client.register(job("a"));
    expect(again.JobModifyIndex).toBe(first.JobModifyIndex);
    expect((await client.readJob("a", "default"))?.Version).toBe(0);
    expect(await client.jobAllocations("a", "default")).toHaveLength(1);
    await client.register(job("a", { run: "2" }));
    expect((await client.readJob("a", "default"))?.Version).toBe(1);
    expect((await client.jobAllocations("a", "default")).map((a) => a.DesiredStatus).sort()).toEqual([
      "run",
      "stop",
    ]);
  });

  it("reads job, allocations, summary and evaluations; 404 reads as undefined", async () => {
    await client.register(job("a"));
    expect((await client.readJob("a", "default"))?.Status).toBe("running"); // placed: not terminal
    const allocs = await client.jobAllocations("a", "default");
    expect(allocs.map((a) => a.Name)).toEqual(["a.train[0]"]);
    expect((await client.jobSummary("a", "default"))?.Summary.train?.Starting).toBe(1);
    expect((await client.jobEvaluations("a", "default")).length).toBe(1);
    expect(await client.readJob("missing", "default")).toBeUndefined();
    expect(await client.jobAllocations("a", "team-a")).toEqual([]);
  });

  it("an unknown namespace is NamespaceNotFound", async () => {
    const error = await reason(client.register(job("a", {}, "nope")));
    expect(error.reason).toBe("NamespaceNotFound");
    expect(error.message).toContain('nonexistent namespace "nope"');
  });

  it("lists jobs with Meta across namespaces, page by page, and filters on Meta", async () => {
    for (let i = 0; i < 5; i++) await client.register(job(`j${i}`, { owner: i % 2 ? "me" : "you" }));
    await client.register(job("j9", { owner: "me" }, "team-a"));
    const all = await client.listJobs({ perPage: 2 });
    expect(all.map((s) => `${s.Namespace}/${s.ID}`)).toEqual([
      "default/j0",
      "default/j1",
      "default/j2",
      "default/j3",
      "default/j4",
      "team-a/j9",
    ]);
    expect(all[0]?.Meta).toEqual({ owner: "you" });
    expect(nomad.requests.filter((r) => r.route === "/v1/jobs" && r.method === "GET")).toHaveLength(3);
    const mine = await client.listJobs({ filter: 'Meta["owner"] == "me"' });
    expect(mine.map((s) => s.ID)).toEqual(["j1", "j3", "j9"]);
    const bad = await reason(client.listJobs({ filter: "Meta.owner matches x" }));
    expect(bad.reason).toBe("NomadRejected");
    expect(bad.status).toBe(400);
  });

  it("deregisters: stop keeps the job dead, purge removes it; unknown jobs are fine", async () => {
    await client.register(job("a"));
    const stopped = await client.deregister("a", "default", { purge: false });
    expect(stopped).toMatchObject({ known: true, EvalID: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(await client.readJob("a", "default")).toMatchObject({ Stop: true, Status: "dead" });
    await client.deregister("a", "default", { purge: true });
    expect(await client.readJob("a", "default")).toBeUndefined();
    // nomad/job_endpoint.go Deregister: an unknown job is 200 with an empty EvalID, never a 404.
    const writes = nomad.writes;
    expect(await client.deregister("never", "default", { purge: true })).toEqual({
      EvalID: "",
      EvalCreateIndex: 0,
      JobModifyIndex: 0,
      Index: 0,
      known: false,
    });
    expect(nomad.writes).toBe(writes + 1);
    const raw = await fetch(`${nomad.address}/v1/job/never?purge=true`, { method: "DELETE" });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("x-nomad-index")).toBe("0");
    expect(await raw.json()).toMatchObject({ EvalID: "", JobModifyIndex: 0, VolumeEvalID: "" });
  });

  it("blocking queries return when the index moves, or after wait", async () => {
    await client.register(job("a"));
    const { meta } = await client.query("/v1/job/a/allocations", "/v1/job/:id/allocations", {
      namespace: "default",
    });
    const started = Date.now();
    const waiting = client.query("/v1/job/a/allocations", "/v1/job/:id/allocations", {
      namespace: "default",
      index: meta.index,
      waitMs: 5_000,
    });
    setTimeout(() => {
      const id = nomad.allocations("default", "a")[0]?.ID ?? "";
      nomad.lifecycle.running(id);
    }, 100);
    const answer = await waiting;
    expect(answer.meta.index).toBeGreaterThan(meta.index);
    expect(Date.now() - started).toBeLessThan(2_000);
    const idle = Date.now();
    await client.query("/v1/job/a", "/v1/job/:id", { namespace: "default", index: 10_000, waitMs: 300 });
    expect(Date.now() - idle).toBeGreaterThanOrEqual(250);
  });

  it("reports the server version from /v1/agent/self", async () => {
    expect((await client.serverVersion())?.text).toBe("1.9.7");
  });

  it("streams allocation logs from framed base64 chunks", async () => {
    await client.register(job("a"));
    const id = nomad.allocations("default", "a")[0]?.ID ?? "";
    nomad.lifecycle.appendLog(id, "main", "epoch 1\nepoch 2\n");
    const lines: string[] = [];
    for await (const line of client.logs(id, { task: "main" })) lines.push(line);
    expect(lines).toEqual(["epoch 1", "epoch 2"]);
    const controller = new AbortController();
    const followed: string[] = [];
    const reading = (async () => {
      try {
        for await (const line of client.logs(id, { task: "main", follow: true, signal: controller.signal })) {
          followed.push(line);
          if (followed.length === 3) controller.abort();
        }
      } catch {
        // aborted
      }
    })();
    setTimeout(() => nomad.lifecycle.appendLog(id, "main", "epoch 3\n"), 100);
    await reading;
    expect(followed).toEqual(["epoch 1", "epoch 2", "epoch 3"]);
  });
});

describe("NomadClient errors", () => {
  let nomad: NomadDouble;
  afterEach(async () => {
    await nomad.close();
  });

  it("403 is Forbidden and the token never appears in the error", async () => {
    nomad = await startNomadDouble({ tokens: ["good-token"] });
    const client = new NomadClient({ address: nomad.address, token: TOKEN }, {});
    const error = await reason(client.readJob("a", "default"));
    expect(error.reason).toBe("Forbidden");
    expect(error.message).toContain("ACL token not found");
    expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toContain(TOKEN);
    const anonymous = new NomadClient({ address: nomad.address }, {});
    expect((await reason(anonymous.listJobs())).message).toContain("Permission denied");
    const good = new NomadClient({ address: nomad.address, token: "good-token" }, {});
    expect(await good.listJobs()).toEqual([]);
    await Promise.all([client.close(), anonymous.close(), good.close()]);
  });

  it("an unreachable Nomad is NomadUnavailable after bounded retries", async () => {
    nomad = await startNomadDouble();
    const address = nomad.address;
    await nomad.setOutage("refuse");
    const client = new NomadClient({ address, retries: 2, token: TOKEN }, {});
    const started = Date.now();
    const error = await reason(client.readJob("a", "default"));
    expect(error.reason).toBe("NomadUnavailable");
    expect(error.message).toContain(address);
    expect(error.message).not.toContain(TOKEN);
    expect(Date.now() - started).toBeLessThan(3_000);
    await nomad.setOutage("none");
    expect(await client.readJob("a", "default")).toBeUndefined();
    await client.close();
  });

  it("5xx on reads is retried (bounded); a leaderless cluster is NomadUnavailable", async () => {
    nomad = await startNomadDouble();
    const client = new NomadClient({ address: nomad.address, retries: 2 }, {});
    nomad.failNext(2);
    expect(await client.listJobs()).toEqual([]);
    expect(nomad.requests.filter((r) => r.route === "/v1/jobs")).toHaveLength(1);
    nomad.failNext(3);
    const error = await reason(client.listJobs());
    expect(error.reason).toBe("NomadUnavailable");
    expect(error.message).toContain("No cluster leader");
    nomad.failNext(1, 500, "internal oops");
    expect((await reason(client.register(job("a")))).reason).toBe("NomadError");
    await client.close();
  });

  it("a stalled Nomad times out as NomadUnavailable", async () => {
    nomad = await startNomadDouble();
    await nomad.setOutage("stall");
    const client = new NomadClient({ address: nomad.address, retries: 0, timeoutMs: 200 }, {});
    const started = performance.now();
    const error = await reason(client.readJob("a", "default"));
    expect(error.reason).toBe("NomadUnavailable");
    expect(error.message).toContain("request timed out");
    const causes: string[] = [];
    for (let e: unknown = error.cause; e instanceof Error; e = e.cause) causes.push(e.name);
    expect(causes).toContain("TimeoutError"); // what callers tell a stall by
    // One attempt (retries: 0), cut at 200 ms (undici's timers: within about a second).
    expect(performance.now() - started).toBeLessThan(3_000);
    await client.close();
  });
});
