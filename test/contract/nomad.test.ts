// Contract: what the Nomad double accepts and answers (and what the client sends) against the vendor's
// OpenAPI spec, made strict: undeclared properties are errors, each schema lists the fields it
// requires, nulls are allowed (real servers send null for empty arrays, maps and times), and the
// places where real Nomad differs from the spec (vendor-specs/README.md) are declared below.
// The same suite runs against a real Nomad when NOMAD_ADDR is set.
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { renderJob } from "../../src/scheduler/nomad/index.ts";
import { interpolation, runRequest } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { describeReal } from "./real-servers.ts";
import {
  describeWithSpecs,
  formatErrors,
  NOMAD_SPEC,
  requestValidator,
  responseValidator,
  type StrictOptions,
  schemaValidator,
} from "./vendor-specs.ts";

const int = { type: "integer" };
const str = { type: "string" };
const queryMeta = {
  Index: int,
  LastContact: int,
  KnownLeader: { type: "boolean" },
  LastIndex: false,
  RequestTime: false,
} as const;

/** Where real Nomad differs from nomad-openapi v1 (generated against 1.4). */
const SERVER_DIFFERENCES: StrictOptions["exceptions"] = {
  JobRegisterResponse: queryMeta,
  // structs.JobDeregisterResponse (nomad/structs/structs.go) carries the volume evaluation since 1.7.
  JobDeregisterResponse: { ...queryMeta, VolumeEvalID: str, VolumeEvalIndex: int },
  JobPlanResponse: { Index: int },
  Job: { NodePool: str },
  JobListStub: { NodePool: str, Meta: { type: "object", additionalProperties: str } },
  AllocationListStub: { NextAllocation: str, DesiredTransition: { type: "object" } },
  // Nomad ≥ 2.0.3 only, rendered only when the server reports it.
  TaskGroup: { MaxRunDuration: int },
};

const REQUEST: StrictOptions = {
  nullable: true,
  exceptions: SERVER_DIFFERENCES,
  required: {
    JobRegisterRequest: ["Job"],
    Job: ["ID", "Name", "Namespace", "Type", "Priority", "Datacenters", "TaskGroups", "Meta"],
    TaskGroup: ["Name", "Count", "Tasks", "RestartPolicy", "ReschedulePolicy"],
    Task: ["Name", "Driver", "Config", "Resources", "Env"],
    Resources: ["CPU", "MemoryMB"],
    Service: ["Name", "Provider", "PortLabel", "AddressMode", "Tags", "Meta", "Checks"],
    ServiceCheck: ["Type", "Path", "Interval", "Timeout"],
    Constraint: ["LTarget", "RTarget", "Operand"],
  },
};

const RESPONSE: StrictOptions = {
  nullable: true,
  exceptions: SERVER_DIFFERENCES,
  required: {
    JobRegisterResponse: [
      "EvalID",
      "EvalCreateIndex",
      "JobModifyIndex",
      "Warnings",
      "Index",
      "LastContact",
      "KnownLeader",
    ],
    JobDeregisterResponse: ["EvalID", "EvalCreateIndex", "JobModifyIndex", "Index"],
    Job: [
      "ID",
      "Name",
      "Namespace",
      "Type",
      "Priority",
      "Datacenters",
      "TaskGroups",
      "Status",
      "Stop",
      "Version",
      "CreateIndex",
      "ModifyIndex",
      "JobModifyIndex",
      "SubmitTime",
      "Meta",
    ],
    JobListStub: [
      "ID",
      "Name",
      "Namespace",
      "Type",
      "Priority",
      "Status",
      "Stop",
      "JobModifyIndex",
      "ModifyIndex",
      "CreateIndex",
      "Meta",
    ],
    AllocationListStub: [
      "ID",
      "EvalID",
      "Name",
      "Namespace",
      "NodeID",
      "JobID",
      "JobVersion",
      "TaskGroup",
      "DesiredStatus",
      "ClientStatus",
      "TaskStates",
      "CreateIndex",
      "ModifyIndex",
    ],
    Allocation: [
      "ID",
      "Name",
      "Namespace",
      "JobID",
      "TaskGroup",
      "DesiredStatus",
      "ClientStatus",
      "TaskStates",
      "CreateIndex",
      "ModifyIndex",
    ],
    TaskState: ["State", "Failed", "Restarts", "StartedAt", "FinishedAt", "Events"],
    TaskEvent: ["Type", "Time", "Details", "DisplayMessage", "ExitCode"],
    JobSummary: ["JobID", "Namespace", "Summary", "CreateIndex", "ModifyIndex"],
    TaskGroupSummary: ["Complete", "Failed", "Lost", "Queued", "Running", "Starting"],
    JobPlanResponse: ["Annotations", "FailedTGAllocs", "JobModifyIndex", "Diff", "Warnings"],
    DesiredUpdates: ["Place", "Ignore", "Stop", "DestructiveUpdate", "InPlaceUpdate"],
    Evaluation: ["ID", "JobID", "Namespace", "Status", "FailedTGAllocs", "CreateIndex", "ModifyIndex"],
    AllocationMetric: [
      "NodesEvaluated",
      "NodesFiltered",
      "NodesExhausted",
      "ConstraintFiltered",
      "DimensionExhausted",
    ],
  },
};

/** /v1/event/stream is not in the spec: its frame, from the documented wire format. */
const FRAME = {
  type: "object",
  additionalProperties: false,
  required: ["Index", "Events"],
  properties: {
    Index: int,
    Events: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["Topic", "Type", "Key", "Namespace", "Index", "Payload"],
        properties: {
          Topic: { enum: ["Job", "Allocation", "Evaluation", "Deployment", "Node", "Service"] },
          Type: str,
          Key: str,
          Namespace: str,
          FilterKeys: { type: ["array", "null"], items: str },
          Index: int,
          Payload: { type: "object" },
        },
      },
    },
  },
} as const;

interface Target {
  address: string;
  token?: string;
  double?: NomadDouble;
  close(): Promise<void>;
}

async function get(
  target: Target,
  path: string,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${target.address}${path}`, {
    headers: target.token ? { "X-Nomad-Token": target.token } : {},
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** Reads ndjson frames from the event stream until `count` non-heartbeat frames or the deadline. */
async function frames(
  target: Target,
  query: string,
  count: number,
  ms = 10_000,
): Promise<{ frames: unknown[]; heartbeats: number }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const out: unknown[] = [];
  let heartbeats = 0;
  try {
    const response = await fetch(`${target.address}/v1/event/stream?${query}`, {
      signal: controller.signal,
      headers: target.token ? { "X-Nomad-Token": target.token } : {},
    });
    let tail = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const lines = (tail + Buffer.from(chunk).toString()).split("\n");
      tail = lines.pop() ?? "";
      for (const line of lines.filter((l) => l.trim())) {
        const frame = JSON.parse(line) as { Index?: number };
        if (frame.Index === undefined) heartbeats++;
        else out.push(frame);
      }
      if (out.length >= count && heartbeats > 0) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { frames: out, heartbeats };
}

function suite(name: string, open: () => Promise<Target>) {
  describe(name, () => {
    let target: Target;
    let client: NomadClient;
    const jobId = `contract-${process.pid}-${Date.now().toString(36)}`;
    const run = runRequest(
      {
        replicas: 2,
        metrics: { port: 9100, path: "/metrics" },
        constraints: [{ attribute: interpolation("attr.kernel.name"), operator: "=", value: "linux" }],
      },
      { key: { kind: "TrainingJob", namespace: "default", name: jobId } },
    );

    beforeAll(async () => {
      target = await open();
      client = new NomadClient(
        { address: target.address, ...(target.token ? { token: target.token } : {}) },
        {},
      );
    });
    afterAll(async () => {
      await client.deregister(jobId, "default", { purge: true }).catch(() => false);
      await client.close();
      await target.close();
    });

    it("register: the client's body and the server's answer", async () => {
      const body = { Job: renderJob(run), EnforceIndex: true, JobModifyIndex: 0 };
      requestValidator(NOMAD_SPEC, "/jobs", "post", REQUEST).assert(body, "register request");
      const answer = await client.register(renderJob(run), { enforceIndex: 0 });
      responseValidator(NOMAD_SPEC, "/jobs", "post", 200, RESPONSE).assert(answer, "register response");
      if (target.double) {
        const sent = target.double.requests.find((r) => r.route === "/v1/jobs" && r.method === "POST")?.body;
        expect(sent).toEqual(JSON.parse(JSON.stringify(body)));
      }
    });

    it("job, allocations, summary, evaluations and list stubs", async () => {
      const checks: [string, string, unknown][] = [
        ["/job/{jobName}", `/v1/job/${jobId}`, undefined],
        ["/job/{jobName}/allocations", `/v1/job/${jobId}/allocations`, undefined],
        ["/job/{jobName}/summary", `/v1/job/${jobId}/summary`, undefined],
        ["/job/{jobName}/evaluations", `/v1/job/${jobId}/evaluations`, undefined],
        ["/jobs", "/v1/jobs?meta=true&namespace=*", undefined],
        ["/allocations", "/v1/allocations?namespace=*", undefined],
        ["/allocations", "/v1/allocations?namespace=*&task_states=false&per_page=1", undefined],
      ];
      if (target.double) {
        const [first] = target.double.allocations("default", jobId);
        target.double.lifecycle.running(first?.ID ?? "");
        target.double.lifecycle.exit(first?.ID ?? "", { exitCode: 137, oom: true, exhaust: true });
      }
      for (const [specPath, path] of checks) {
        const { status, body, headers } = await get(target, path);
        expect(status, path).toBe(200);
        expect(Number(headers.get("x-nomad-index")), path).toBeGreaterThan(0);
        expect(headers.get("x-nomad-knownleader"), path).toBe("true");
        expect(headers.get("x-nomad-lastcontact"), path).not.toBeNull();
        responseValidator(NOMAD_SPEC, specPath, "get", 200, RESPONSE).assert(body, `GET ${path}`);
      }
      const stubs = (await get(target, "/v1/jobs?meta=true&namespace=*")).body as {
        ID: string;
        Meta: unknown;
      }[];
      expect(stubs.find((s) => s.ID === jobId)?.Meta).toEqual(renderJob(run).Meta);
    });

    it("plan: request and answer", async () => {
      const body = { Job: renderJob({ ...run, specHash: "other" }), Diff: true };
      requestValidator(NOMAD_SPEC, "/job/{jobName}/plan", "post", REQUEST).assert(body, "plan request");
      const answer = await client.plan(body.Job);
      responseValidator(NOMAD_SPEC, "/job/{jobName}/plan", "post", 200, RESPONSE).assert(
        answer,
        "plan response",
      );
    });

    it("event stream frames: ndjson with heartbeats, payloads per their schemas", async () => {
      const reading = frames(
        target,
        `topic=Job:${jobId}&topic=Allocation:*&topic=Evaluation:*&namespace=*&index=1`,
        2,
      );
      const { frames: got, heartbeats } = await reading;
      expect(got.length).toBeGreaterThan(0);
      if (target.double) expect(heartbeats).toBeGreaterThan(0);
      const validate = schemaValidator(NOMAD_SPEC, "Job", RESPONSE);
      const allocation = schemaValidator(NOMAD_SPEC, "Allocation", RESPONSE);
      const evaluation = schemaValidator(NOMAD_SPEC, "Evaluation", RESPONSE);
      for (const f of got as { Events: { Topic: string; Payload: Record<string, unknown> }[] }[]) {
        expect(frameValidator(f), formatErrors(frameValidator.errors)).toBe(true);
        for (const e of f.Events) {
          if (e.Topic === "Job") validate.assert(e.Payload.Job, "Job event payload");
          if (e.Topic === "Allocation") allocation.assert(e.Payload.Allocation, "Allocation event payload");
          if (e.Topic === "Evaluation") evaluation.assert(e.Payload.Evaluation, "Evaluation event payload");
        }
      }
      const topics = (got as { Events: { Topic: string }[] }[]).flatMap((f) => f.Events.map((e) => e.Topic));
      expect(topics).toContain("Evaluation");
    });

    it("deregister: stop answers per the spec; purge makes the job 404", async () => {
      const answer = await get(target, `/v1/job/${jobId}`);
      expect(answer.status).toBe(200);
      const response = await fetch(`${target.address}/v1/job/${jobId}?purge=true`, {
        method: "DELETE",
        headers: target.token ? { "X-Nomad-Token": target.token } : {},
      });
      responseValidator(NOMAD_SPEC, "/job/{jobName}", "delete", 200, RESPONSE).assert(
        await response.json(),
        "deregister",
      );
      const gone = await fetch(`${target.address}/v1/job/${jobId}`);
      expect(gone.status).toBe(404);
      expect(gone.headers.get("content-type") ?? "").not.toContain("json");
    });
  });
}

const frameValidator = new Ajv({ allErrors: true }).compile(FRAME);

describeWithSpecs("Nomad contract", () => {
  it("the strict validators can fail: an undeclared property and a missing required field", () => {
    const register = responseValidator(NOMAD_SPEC, "/jobs", "post", 200, RESPONSE);
    expect(
      register({
        EvalID: "e",
        EvalCreateIndex: 1,
        JobModifyIndex: 1,
        Warnings: "",
        Index: 1,
        LastContact: 0,
        KnownLeader: true,
      }),
    ).toBe(true);
    expect(
      register({
        EvalID: "e",
        EvalCreateIndex: 1,
        JobModifyIndex: 1,
        Warnings: "",
        Index: 1,
        LastContact: 0,
        KnownLeader: true,
        Surprise: 1,
      }),
    ).toBe(false);
    expect(
      register({
        EvalCreateIndex: 1,
        JobModifyIndex: 1,
        Warnings: "",
        Index: 1,
        LastContact: 0,
        KnownLeader: true,
      }),
    ).toBe(false);
    expect(
      register({
        EvalID: "e",
        EvalCreateIndex: 1,
        JobModifyIndex: 1,
        Warnings: null,
        Index: 1,
        LastContact: 0,
        KnownLeader: true,
      }),
    ).toBe(true);
  });

  suite("the Nomad double", async () => {
    const double = await startNomadDouble({ heartbeatMs: 50 });
    return { address: double.address, double, close: () => double.close() };
  });

  describeReal("nomad", "Nomad API contract", (address) =>
    suite(`a real Nomad at ${address}`, async () => ({
      address,
      ...(process.env.NOMAD_TOKEN ? { token: process.env.NOMAD_TOKEN } : {}),
      close: async () => {},
    })),
  );
}, [NOMAD_SPEC]);
