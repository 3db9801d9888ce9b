// The Nomad double renders the env template the operator writes as a Nomad client would: the
// Variable's items become the task's environment, values unchanged (toJSON quotes them, the env file
// parser unquotes them); a missing Variable blocks the task with the client's "Missing:" message.
import { describe, expect, it } from "vitest";
import type { NomadTask } from "../../src/clients/nomad/types.ts";
import { renderJob } from "../../src/scheduler/nomad/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { templateEnv } from "../doubles/nomad/templates.ts";

const env = [
  { name: "PLAIN", value: "p" },
  { name: "A_TOKEN", valueFrom: { file: { path: "a" } } },
  { name: "B_KEY", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
];

function task(): NomadTask {
  const job = renderJob(runRequest({ env }));
  const found = job.TaskGroups[0]?.Tasks[0];
  if (!found) throw new Error("no task");
  return found;
}

describe("templateEnv (the Nomad double's client side of the operator's template)", () => {
  it("renders the referenced names from the job's Variable", () => {
    const values = { A_TOKEN: 'x "quoted"\nline two', B_KEY: "b" };
    expect(templateEnv(task(), (path) => (path === "nomad/jobs/resnet" ? values : undefined))).toEqual(
      values,
    );
  });

  it("a missing Variable is the client's Missing message", () => {
    expect(() => templateEnv(task(), () => undefined)).toThrow(
      "Template: Missing: nomad.var.block(nomad/jobs/resnet)",
    );
  });

  it("refuses a template it cannot render", () => {
    const t = {
      ...task(),
      Templates: [
        { EmbeddedTmpl: '{{ key "x" }}', DestPath: "local/x", Envvars: true, ChangeMode: "noop" as const },
      ],
    };
    expect(() => templateEnv(t, () => ({}))).toThrow(/renders only nomadVar env templates/);
  });

  it("a task without templates renders nothing", () => {
    const plain = renderJob(runRequest({ env: [{ name: "PLAIN", value: "p" }] })).TaskGroups[0]?.Tasks[0];
    expect(plain && templateEnv(plain, () => undefined)).toEqual({});
  });
});
