// Prints the suite's closing line in the plain form CI reads ("Tests: N passed, N failed, N skipped")
// from vitest's JSON report, and each test file that failed outside its tests (a hook timed out, an
// import threw): those fail the run but count in no test, so the line alone read "0 failed".
// Usage: node hack/test-summary.ts .test-results/vitest.json
import { readFileSync } from "node:fs";
import { relative } from "node:path";

const file = process.argv[2] ?? ".test-results/vitest.json";
try {
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
    testResults?: {
      name: string;
      status: string;
      message?: string;
      assertionResults?: { status: string }[];
    }[];
  };
  const skipped = report.numPendingTests + report.numTodoTests;
  const files = (report.testResults ?? []).filter(
    (t) => t.status === "failed" && !(t.assertionResults ?? []).some((a) => a.status === "failed"),
  );
  const suites = files.length > 0 ? `; ${files.length} test file(s) failed outside their tests` : "";
  console.log(
    `Tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped${suites}`,
  );
  for (const t of files) {
    console.log(`  ${relative(process.cwd(), t.name)}: ${(t.message ?? "").split("\n")[0]}`);
  }
} catch (error) {
  console.log(`Tests: no report at ${file} (${(error as Error).message})`);
}
