import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PHASES, phaseTableMarkdown } from "../../src/trainingjob/model.ts";

describe("status model", () => {
  it("docs/status-model.md carries the same table as the code", () => {
    const doc = readFileSync(new URL("../../docs/status-model.md", import.meta.url), "utf8");
    expect(doc).toContain(phaseTableMarkdown());
  });

  it("every phase has exactly one row and Ready is True only where the run is where it should be", () => {
    expect(PHASES.map((r) => r.phase).sort()).toEqual([
      "Failed",
      "Pending",
      "Running",
      "Succeeded",
      "Suspended",
    ]);
    for (const row of PHASES) {
      expect(row.ready === "True").toBe(["Running", "Succeeded", "Suspended"].includes(row.phase));
      expect(row.stalled === "True").toBe(row.phase === "Failed");
    }
  });
});
