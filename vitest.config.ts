import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// Tests never change a user's mlopsctl contexts (~/.local/state/mlopsctl): every worker, and every
// `mlopsctl run` a test starts, records its contexts under a state home of this test run's own.
process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), "mlopsctl-test-state-"));

// Tests live under test/, named by feature. Three projects:
// - unit: pure logic and in-process doubles, fully parallel;
// - integration: the real Docker engine and Prometheus (hack/test-env.sh starts them), a few at a time;
// - e2e: whole stacks on fixed subnets, one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/integration/**", "test/e2e/**"],
          testTimeout: 20_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
