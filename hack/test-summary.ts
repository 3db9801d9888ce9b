// Prints the suite's closing line in the plain form CI reads ("Tests: N passed, N failed, N skipped")
// from vitest's JSON report. Usage: node hack/test-summary.ts .test-results/vitest.json
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".test-results/vitest.json";
try {
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(`Tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
} catch (error) {
  console.log(`Tests: no report at ${file} (${(error as Error).message})`);
}
