// Temporary directories for benchmarks, removed by cleanup().
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recordCleanup } from "./churn.ts";
import { onCleanup } from "./cleanup.ts";

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `mlops-bench-${prefix}-`));
  onCleanup(() => {
    recordCleanup(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
