// get's printer columns: PROGRESS reads status.progress, and a run that succeeded shows 100 %
// (its last reading may be from before its final epochs).
import { describe, expect, it } from "vitest";
import { columnsOf } from "../../src/cli/columns.ts";
import type { StatusRecord } from "../../src/sources/state/index.ts";

const record = (status: Record<string, unknown>): StatusRecord =>
  ({ metadata: { name: "mnist", namespace: "default" }, status }) as unknown as StatusRecord;

describe("TrainingJob PROGRESS column", () => {
  const { headers, cells } = columnsOf("TrainingJob", true);
  const progress = (status: Record<string, unknown>) =>
    cells(record(status), "1m")[headers.indexOf("PROGRESS")];

  it.each([
    [{ phase: "Running", progress: { ratio: 0.456, epoch: 9 } }, "45% epoch 9"],
    [{ phase: "Running" }, "<none>"],
    [{ phase: "Succeeded", progress: { ratio: 0, epoch: 0 } }, "100%"],
    [
      {
        phase: "Running",
        progress: { ratio: 0.2, epoch: 3 },
        conditions: [{ type: "ProgressStalled", status: "True", reason: "ProgressDeadlineExceeded" }],
      },
      "STALLED 20% epoch 3",
    ],
  ])("%j → %s", (status, cell) => {
    expect(progress(status)).toBe(cell);
  });
});
