// The Nomad job that runs the operator itself (manifests/nomad/) is a register body Nomad accepts:
// checked against the vendor's published spec with the strict validators (unknown fields rejected).
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { describeWithSpecs, NOMAD_SPEC, requestValidator } from "./vendor-specs.ts";

const job = JSON.parse(
  readFileSync(new URL("../../manifests/nomad/mlops-operator.json", import.meta.url), "utf8"),
);

describeWithSpecs("manifests/nomad/mlops-operator.json", () => {
  it("is a valid Nomad job register request", () => {
    requestValidator(NOMAD_SPEC, "/jobs", "post", { nullable: true }).assert(job, "operator job");
  });

  it("runs the operator against the synced repository with a fixed owner id and a reachable metrics port", () => {
    const operator = job.Job.TaskGroups[0].Tasks.find((t: { Name: string }) => t.Name === "operator");
    expect(operator.Config.args).toEqual(expect.arrayContaining(["run", "--metrics-addr=0.0.0.0:9464"]));
    expect(operator.Config.args.some((a: string) => a.startsWith("--owner-id="))).toBe(true);
    expect(job.Job.TaskGroups[0].Services[0].Checks[0].Path).toBe("/readyz");
  });
}, [NOMAD_SPEC]);
