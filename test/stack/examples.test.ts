// examples/stack/ validates, its stack renders the seed's platform, and its job names the stack.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { MlopsStack, TrainingJob } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import { renderStack } from "../../src/stack/render.ts";
import { renderOptions, stackOf } from "./fixtures.ts";

function load(file: string) {
  const result = validateDocument(parse(readFileSync(`examples/stack/${file}`, "utf8")));
  if (!result.ok) throw new Error(`${file}: ${JSON.stringify(result.issues)}`);
  return result.resource;
}

describe("examples/stack", () => {
  it("platform.yaml is exactly the defaults (the seed's platform)", () => {
    const stack = load("platform.yaml") as MlopsStack;
    expect(stack.spec).toEqual(stackOf().spec);
    const desired = renderStack(stack, renderOptions);
    expect(desired.containers.map((c) => `${c.component}@${c.ip}:${c.port}`)).toEqual([
      "consul@172.20.0.10:8500",
      "nomad@172.20.0.20:4646",
      "prometheus@172.20.0.30:9090",
      "grafana@172.20.0.40:3000",
    ]);
  });

  it("mnist.yaml runs on that stack and exposes metrics", () => {
    const job = load("mnist.yaml") as TrainingJob;
    expect(job.spec.stackRef).toBe("platform");
    expect(job.spec.metrics).toEqual({ port: 8000, path: "/metrics" });
  });
});
