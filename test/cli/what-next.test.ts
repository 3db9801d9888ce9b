// The lines `mlopsctl run` prints once it watches: how to look at the run from another terminal, and
// how to change it, in the words of the source it watches (Kubernetes mode said "Edit the YAML").
import { describe, expect, it } from "vitest";
import { whatNext } from "../../src/cli/commands/run-context.ts";
import type { Operator } from "../../src/cli/compose.ts";
import type { MlopsContext } from "../../src/cli/context.ts";
import { trainingJob } from "../trainingjob/builders.ts";

const operator = { source: { list: () => [trainingJob({}, 1, "mnist")] } } as unknown as Operator;
const base = {
  name: "repo",
  stateDir: "/s",
  startedAt: "2026-01-01T00:00:00Z",
  metricsAddr: "127.0.0.1:9464",
};

describe("whatNext", () => {
  it("directory source: the commands for its first job, and editing the YAML", () => {
    const context: MlopsContext = { ...base, source: "directory", dir: "/tmp/repo" };
    const text = whatNext(context, operator);
    expect(text).toContain("mlopsctl describe tj mnist");
    expect(text).toContain("curl -s http://127.0.0.1:9464/metrics");
    expect(text).toContain("Edit the YAML to change a run.");
  });

  it("kubernetes source: kubectl, not a YAML file the operator does not read", () => {
    const context: MlopsContext = { ...base, source: "kubernetes" };
    const text = whatNext(context, operator);
    expect(text).toContain('Watching kubernetes (context "repo")');
    expect(text).toContain("kubectl apply or edit a TrainingJob to change a run.");
    expect(text).not.toContain("Edit the YAML");
  });
});
