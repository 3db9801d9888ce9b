// hack/test-summary.ts, the line CI reads: a test file that fails outside its tests (a hook timed
// out) fails the run but counts in no test, and the line said "0 failed" beside a failed make.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "test-summary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function summary(report: unknown): string {
  const file = join(dir, "report.json");
  writeFileSync(file, JSON.stringify(report));
  return execFileSync(process.execPath, ["hack/test-summary.ts", file], { encoding: "utf8" });
}

const counts = { numPassedTests: 5, numFailedTests: 0, numPendingTests: 1, numTodoTests: 0 };

describe("hack/test-summary.ts", () => {
  it("prints the counts", () => {
    expect(summary({ ...counts, testResults: [] })).toBe("Tests: 5 passed, 0 failed, 1 skipped\n");
  });

  it("names a test file that failed outside its tests", () => {
    const hook = {
      name: join(process.cwd(), "test/sources/scale.test.ts"),
      status: "failed",
      message: "Hook timed out in 10000ms.\nIf this is a long-running hook, …",
      assertionResults: [{ status: "skipped" }],
    };
    const failedTest = { name: "/x/a.test.ts", status: "failed", assertionResults: [{ status: "failed" }] };
    expect(summary({ ...counts, numFailedTests: 1, testResults: [hook, failedTest] })).toBe(
      "Tests: 5 passed, 1 failed, 1 skipped; 1 test file(s) failed outside their tests\n" +
        "  test/sources/scale.test.ts: Hook timed out in 10000ms.\n",
    );
  });
});
