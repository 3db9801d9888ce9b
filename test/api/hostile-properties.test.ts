// Hostile input, property-based (fast-check, fixed seeds: every run tries the same cases):
// validate and load never throw on any document or byte string; every TrainingJob that validates
// renders a Nomad job that passes the Nomad Job schema; every name that validates is safe as a
// Nomad job ID, Docker container name, Consul service name and file name.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkLabel,
  consulServiceName,
  DOCKER_NAME,
  NOMAD_SERVICE_NAME,
  nomadJobId,
  stackContainerName,
  stateFileName,
  trainingContainerName,
} from "../../src/api/names.ts";
import type { TrainingJob } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import { renderJob } from "../../src/scheduler/nomad/index.ts";
import { loadBytes, loadText } from "../../src/sources/yaml/index.ts";
import {
  describeWithSpecs,
  NOMAD_SPEC,
  requestValidator,
  type StrictOptions,
} from "../contract/vendor-specs.ts";

const SEED = 20_261_204;
/** Cases per property; the figures in docs/safety.md count them. */
const RUNS = { documents: 3000, texts: 1500, bytes: 3000, specs: 2000, names: 5000 };

const hostileChars = fc.constantFrom(
  "a",
  "z",
  "0",
  "9",
  "-",
  "_",
  ".",
  "/",
  " ",
  ":",
  "\n",
  "\r",
  "\t",
  "\u0000",
  "\u001b",
  "\u202e",
  "é",
  "日",
  "#",
  "&",
  "*",
  "!",
  "{",
  "[",
  "'",
  '"',
  "\\",
  "$",
  "%",
  "~",
);
const hostileString = fc.oneof(
  fc.string({ unit: hostileChars, maxLength: 80 }),
  fc.string({ maxLength: 40 }),
  fc.constantFrom("", "..", "../etc", "a".repeat(64), "a".repeat(300), "${attr.x}", "{{.x}}", "null", "~"),
);
const validName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const nameLike = fc.oneof(validName, hostileString);
const smallInt = fc.oneof(
  fc.integer({ min: -3, max: 70_000 }),
  fc.constantFrom(0, 1, 2 ** 31, -1, 1.5, Number.NaN),
);
const anyValue = fc.oneof(
  hostileString,
  smallInt,
  fc.boolean(),
  fc.constant(null),
  fc.anything({ maxDepth: 2 }),
);
type Maybe = <T>(good: fc.Arbitrary<T>) => fc.Arbitrary<unknown>;
/** A field that is usually valid and sometimes anything at all. */
const maybe: Maybe = (good) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: anyValue });
/** Rarely anything else: most specs built with it validate, so they reach the renderer. */
const rarely: Maybe = (good) =>
  fc.oneof({ weight: 200, arbitrary: good }, { weight: 1, arbitrary: anyValue });
/** Free text the schema allows (any characters, control characters included). */
const text = (min = 0, max = 60) => fc.string({ unit: hostileChars, minLength: min, maxLength: max });
const absPath = fc.constantFrom("/data", "/mnt/x", "/scratch/run-1", "/", "/a b/c");

/** TrainingJob specs whose fields are valid before `maybe` puts anything else in some of them. */
const specOf = (maybe: Maybe) =>
  fc.record(
    {
      image: maybe(fc.oneof(fc.constantFrom("registry.local/train:1", "python:3.12"), text(1))),
      command: maybe(fc.array(text(), { maxLength: 3 })),
      args: maybe(fc.array(text(), { maxLength: 3 })),
      env: maybe(
        fc.uniqueArray(
          fc.record({ name: maybe(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,10}$/)), value: maybe(text()) }),
          {
            maxLength: 3,
            selector: (e) => e.name,
          },
        ),
      ),
      replicas: maybe(fc.integer({ min: 1, max: 8 })),
      resources: maybe(
        fc.record(
          {
            cpu: maybe(fc.integer({ min: 1, max: 64_000 })),
            memoryMB: maybe(fc.integer({ min: 16, max: 512_000 })),
            gpus: maybe(fc.integer({ min: 0, max: 8 })),
          },
          { requiredKeys: [] },
        ),
      ),
      shmSizeMB: maybe(fc.integer({ min: 1, max: 65_536 })),
      volumes: maybe(
        fc.uniqueArray(
          fc.oneof(
            fc.record({ hostPath: absPath, mountPath: absPath, readOnly: fc.boolean() }),
            fc.record({
              name: fc.stringMatching(/^[a-z0-9]([a-z0-9_.-]{0,20}[a-z0-9])?$/),
              mountPath: absPath,
            }),
          ),
          { maxLength: 2, selector: (v) => v.mountPath },
        ),
      ),
      constraints: maybe(
        fc.array(
          fc.record({
            attribute: fc.constantFrom("${attr.kernel.name}", "${node.class}", "${meta.rack}"),
            operator: fc.constantFrom("=", "!=", "regexp", ">=", "version", "set_contains"),
            value: text(1, 20),
          }),
          { maxLength: 2 },
        ),
      ),
      datacenters: maybe(fc.array(fc.oneof(fc.constantFrom("dc1", "*"), text(1, 20)), { maxLength: 2 })),
      nodePool: maybe(fc.oneof(fc.constant("default"), text(0, 30))),
      priority: maybe(fc.integer({ min: 1, max: 100 })),
      backoffLimit: maybe(fc.integer({ min: 0, max: 100 })),
      activeDeadlineSeconds: maybe(fc.integer({ min: 1, max: 31_536_000 })),
      ttlSecondsAfterFinished: maybe(fc.integer({ min: 0, max: 31_536_000 })),
      suspend: maybe(fc.boolean()),
      metrics: maybe(
        fc.record(
          {
            port: maybe(fc.integer({ min: 1, max: 65_535 })),
            path: maybe(
              fc.oneof(
                fc.constant("/metrics"),
                text(0, 20).map((t) => `/${t}`),
              ),
            ),
          },
          { requiredKeys: ["port"] },
        ),
      ),
    },
    { requiredKeys: ["image"] },
  );
const specArb = specOf(maybe);

const labelsArb = fc.dictionary(
  fc.oneof(fc.constantFrom("team", "app.kubernetes.io/name"), hostileString),
  hostileString,
  { maxKeys: 3 },
);
const documentArb = fc.record(
  {
    apiVersion: maybe(fc.constant("mlops.dev/v1alpha1")),
    kind: maybe(fc.constantFrom("TrainingJob", "MlopsStack", "Other")),
    metadata: maybe(
      fc.record(
        {
          name: maybe(nameLike),
          namespace: maybe(nameLike),
          labels: maybe(labelsArb),
          annotations: maybe(labelsArb),
        },
        { requiredKeys: [] },
      ),
    ),
    spec: maybe(specArb),
  },
  { requiredKeys: [] },
);

/** Where real Nomad differs from nomad-openapi v1, as in test/contract/nomad.test.ts's REQUEST. */
const JOB_REQUEST: StrictOptions = {
  nullable: true,
  exceptions: { Job: { NodePool: { type: "string" } }, TaskGroup: { MaxRunDuration: { type: "integer" } } },
  required: {
    JobRegisterRequest: ["Job"],
    Job: ["ID", "Name", "Namespace", "Type", "Priority", "Datacenters", "TaskGroups", "Meta"],
    TaskGroup: ["Name", "Count", "Tasks", "RestartPolicy", "ReschedulePolicy"],
    Task: ["Name", "Driver", "Config", "Resources", "Env"],
    Resources: ["CPU", "MemoryMB"],
  },
};

describe("hostile documents never make validate or load throw", () => {
  it("found by the generator: an MlopsStack without metadata is an issue, not a TypeError", () => {
    expect(validateDocument({ apiVersion: "mlops.dev/v1alpha1", kind: "MlopsStack" })).toMatchObject({
      ok: false,
      issues: [{ path: ["metadata"], message: "metadata.name is required" }],
    });
  });

  it(`validateDocument over ${RUNS.documents} generated documents`, () => {
    fc.assert(
      fc.property(documentArb, (doc) => {
        const result = validateDocument(doc);
        if (!result.ok) expect(result.issues.length).toBeGreaterThan(0);
      }),
      { seed: SEED, numRuns: RUNS.documents },
    );
  });

  it(`loadText over ${RUNS.texts} generated YAML texts (documents, then damaged)`, () => {
    const yamlText = fc.tuple(documentArb, fc.nat(400), hostileString).map(([doc, cut, junk]) => {
      const text = JSON.stringify(doc, null, 1);
      return cut % 3 === 0 ? text : cut % 3 === 1 ? text.slice(0, cut) + junk : `${junk}\n---\n${text}`;
    });
    fc.assert(
      fc.property(yamlText, (text) => {
        const load = loadText("gen.yaml", text);
        // Every problem is located in the file, never thrown.
        for (const issue of load.fileIssues) expect(issue.line).toBeGreaterThanOrEqual(1);
      }),
      { seed: SEED, numRuns: RUNS.texts },
    );
  });

  it(`loadBytes over ${RUNS.bytes} byte strings`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const load = loadBytes("gen.yaml", bytes);
        if (bytes.includes(0)) expect(load.fileIssues[0]?.message).toMatch(/NUL byte/);
      }),
      { seed: SEED, numRuns: RUNS.bytes },
    );
  });
});

describeWithSpecs("every TrainingJob that validates renders a Nomad job that passes the Nomad Job schema", () => {
  it(`${RUNS.specs} generated specs`, () => {
    const register = requestValidator(NOMAD_SPEC, "/jobs", "post", JOB_REQUEST);
    let rendered = 0;
    fc.assert(
      fc.property(specOf(rarely), validName, validName, (spec, name, namespace) => {
        const result = validateDocument({
          apiVersion: "mlops.dev/v1alpha1",
          kind: "TrainingJob",
          metadata: { name, namespace },
          spec,
        });
        if (!result.ok) return;
        const job = result.resource as TrainingJob;
        const run = {
          key: { kind: "TrainingJob" as const, namespace, name },
          ownerId: "prop",
          runId: "r1",
          generation: 1,
          specHash: "s",
          runSpecHash: "r",
          spec: job.spec,
        };
        for (const options of [{}, { network: "mlops-network", maxRunDuration: true }]) {
          register.assert({ Job: renderJob(run, options), EnforceIndex: true, JobModifyIndex: 0 });
        }
        rendered++;
      }),
      { seed: SEED, numRuns: RUNS.specs },
    );
    // The generator must reach the renderer, not only the validator's error paths.
    expect(rendered).toBeGreaterThan(RUNS.specs / 10);
  });
}, [NOMAD_SPEC]);

describe("every name that validates is safe everywhere it goes", () => {
  it(`${RUNS.names} generated (namespace, name) pairs`, () => {
    let valid = 0;
    fc.assert(
      fc.property(nameLike, nameLike, fc.nat(16), (namespace, name, replica) => {
        if (checkLabel(name) !== undefined || checkLabel(namespace) !== undefined) return;
        valid++;
        // Nomad job ID (nomad/structs Job.Validate: no space, no NUL; short enough for the API).
        const id = nomadJobId(name);
        expect(/[\s/]/.test(id) || id.includes("\u0000")).toBe(false);
        expect(id.length).toBeLessThanOrEqual(128);
        // Docker container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+.
        expect(trainingContainerName(namespace, name, replica)).toMatch(DOCKER_NAME);
        expect(stackContainerName(namespace, name, "grafana")).toMatch(DOCKER_NAME);
        // Consul service names registered by Nomad: DNS-safe, at most 63 characters.
        expect(consulServiceName(namespace, name)).toMatch(NOMAD_SERVICE_NAME);
        // File names in the state directory: three plain segments, none special.
        const segments = stateFileName("TrainingJob", namespace, name).split("/");
        expect(segments).toHaveLength(3);
        for (const s of segments) {
          expect(s === "" || s === "." || s === "..").toBe(false);
          expect(Buffer.byteLength(s)).toBeLessThanOrEqual(255);
          expect(s).toMatch(/^[a-z0-9.-]+$/);
        }
      }),
      { seed: SEED, numRuns: RUNS.names },
    );
    expect(valid).toBeGreaterThan(RUNS.names / 4);
  });
});
