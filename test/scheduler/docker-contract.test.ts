// What the Docker scheduler sends is what Docker Engine API v1.41 accepts: rendered create bodies and
// the update bodies (stop marker, resume, limits) checked against the vendor's spec, strictly (no
// property the spec does not name). The event lines the unit tests' double sends are checked too.
// Docker's spec composes bodies with allOf (HostConfig = Resources + its own fields), which the shared
// strict validator cannot take (each allOf member forbids the other's fields), so allOf is merged
// into one strict object here before compiling.
import { Ajv } from "ajv";
import { expect, it } from "vitest";
import type { TrainingJobSpec } from "../../src/api/generated/types.ts";
import { renderRun, restartPolicyFor, STOPPED_MARKER_POLICY } from "../../src/scheduler/docker/render.ts";
import { DOCKER_SPEC, describeWithSpecs, formatErrors, loadSpec } from "../contract/vendor-specs.ts";
import { eventLine } from "../doubles/docker/events.ts";
import { runRequest } from "./docker-fixtures.ts";

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/** Resolves local $refs, merges allOf, and forbids undeclared properties: a strict, self-contained schema. */
function strict(schema: unknown, doc: Schema, depth = 0): unknown {
  if (depth > 40 || !isObject(schema)) return schema;
  if (typeof schema.$ref === "string") {
    const path = schema.$ref.replace(/^#\//, "").split("/");
    let target: unknown = doc;
    for (const part of path) target = isObject(target) ? target[part] : undefined;
    return strict(target, doc, depth + 1);
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "example" || key.startsWith("x-")) continue;
    if (key === "properties" && isObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, strict(v, doc, depth + 1)]),
      );
    } else if (key === "items" || key === "additionalProperties") {
      out[key] = isObject(value) ? strict(value, doc, depth + 1) : value;
    } else if (key !== "allOf") {
      out[key] = value;
    }
  }
  if (Array.isArray(schema.allOf)) {
    for (const member of schema.allOf.map((m) => strict(m, doc, depth + 1))) {
      if (!isObject(member)) continue;
      out.properties = {
        ...(out.properties as Schema | undefined),
        ...(member.properties as Schema | undefined),
      };
      if (member.type) out.type = member.type;
    }
  }
  if (isObject(out.properties) && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function validator(schema: unknown): { assert(data: unknown, what: string): void } {
  const doc = loadSpec(DOCKER_SPEC) as Schema;
  const validate = new Ajv({ strict: false, allErrors: true }).compile(strict(schema, doc) as Schema);
  return {
    assert(data, what) {
      if (!validate(data))
        throw new Error(`${what} does not match ${DOCKER_SPEC}:\n${formatErrors(validate.errors)}`);
    },
  };
}

function bodyOf(path: string): unknown {
  const doc = loadSpec(DOCKER_SPEC) as Schema;
  const op = ((doc.paths as Schema)[path] as Schema).post as Schema;
  const body = (op.parameters as Schema[]).find((p) => p.in === "body");
  if (!body) throw new Error(`${path} takes no body`);
  return body.schema;
}

describeWithSpecs("Docker Engine API v1.41 contract of the Docker scheduler", () => {
  it.each<[string, Partial<TrainingJobSpec>]>([
    ["minimal", {}],
    [
      "everything",
      {
        replicas: 2,
        command: ["/bin/train"],
        args: ["--epochs", "3"],
        env: [{ name: "A", value: "1" }],
        shmSizeMB: 128,
        volumes: [
          { name: "data", mountPath: "/data", readOnly: true },
          { hostPath: "/srv", mountPath: "/srv", readOnly: false },
        ],
        resources: { cpu: 2000, memoryMB: 1024, gpus: 1 },
        metrics: { port: 8000, path: "/metrics" },
        backoffLimit: 0,
      },
    ],
  ])("POST /containers/create accepts the %s rendering", (_name, spec) => {
    const validate = validator(bodyOf("/containers/create"));
    for (const container of renderRun(runRequest({}, spec), {
      network: "mlops-network",
      extraLabels: { t: "1" },
    })) {
      validate.assert(container.body, `create body of ${container.name}`);
      expect(() => validate.assert({ ...container.body, Bogus: 1 }, "bogus")).toThrow(
        /additional properties/,
      );
      expect(container.name).toMatch(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/); // the `name` query parameter's pattern
    }
  });

  it("POST /containers/{id}/update accepts the stop marker, the resume and the limits", () => {
    const validate = validator(bodyOf("/containers/{id}/update"));
    validate.assert({ RestartPolicy: STOPPED_MARKER_POLICY }, "stop marker");
    validate.assert({ RestartPolicy: restartPolicyFor() }, "resume");
    const limits = { NanoCpus: 500_000_000, Memory: 64 * 1024 * 1024, MemorySwap: 64 * 1024 * 1024 };
    validate.assert(limits, "limits");
    expect(() => validate.assert({ RestartPolicy: { Name: "sometimes" } }, "bad policy")).toThrow(
      /allowed values/,
    );
  });

  it("the events double speaks EventMessage", () => {
    const validate = validator({ $ref: "#/definitions/EventMessage" });
    for (const action of ["start", "die", "destroy"]) {
      const line = eventLine("abc", action, 1_764_150_000_000_000_000, {
        "mlops.dev/key": "TrainingJob/default/a",
        exitCode: "0",
      });
      expect(line.endsWith("\n")).toBe(true);
      validate.assert(JSON.parse(line), `event line ${action}`);
    }
    expect(() =>
      validate.assert({ ...JSON.parse(eventLine("abc", "die", 1)), time: "soon" }, "bad time"),
    ).toThrow();
  });
}, [DOCKER_SPEC]);
