// V8's heap limit of a process the launcher starts, read from outside: a preload (NODE_OPTIONS
// --import) prints it at exit, and `heapLimitMb` reads it back from stderr (launcher-heap.test.ts,
// the operator image's test).
import { expect } from "vitest";

export const HEAP_LIMIT_PRELOAD = `data:text/javascript,${encodeURIComponent(
  'import { getHeapStatistics } from "node:v8"; process.on("exit", () => process.stderr.write("heap limit " + getHeapStatistics().heap_size_limit + "\\n"));',
)}`;

/** The heap limit (old generation plus young) the preload printed to `stderr`, in MB. */
export function heapLimitMb(stderr: string): number {
  const bytes = /heap limit (\d+)/.exec(stderr)?.[1];
  expect(bytes, stderr).toBeDefined();
  return Number(bytes) / 2 ** 20;
}
