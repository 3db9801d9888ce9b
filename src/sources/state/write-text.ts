// A string written to a file without a Buffer of Node's pool: the status files (replace-files.ts)
// and the event logs' appends (append-logs.ts).
import { writeSync } from "node:fs";
import { ownBytes } from "../../api/own-bytes.ts";

/**
 * Writes `text` as UTF-8 at `position` (null: at the file's offset, which O_APPEND keeps at its end)
 * and returns its length in bytes. The string goes to the kernel without a Buffer on the JS heap:
 * 10,000 status files made ~20 MB of pooled Buffers that lived until a major collection, and the
 * event logs' appends held a 64 KB pool slab for every ~160 appends (docs/benchmarks.md, rounds 3
 * and 30). A short write finishes from bytes of its own.
 */
export function writeText(fd: number, text: string, position: number | null): number {
  const written = writeSync(fd, text, position);
  const length = Buffer.byteLength(text, "utf8");
  if (written === length) return length;
  const bytes = ownBytes(text);
  let offset = written;
  for (let i = 0; offset < length && i < 1000; i++) {
    offset += writeSync(fd, bytes, offset, length - offset, position === null ? null : position + offset);
  }
  if (offset < length) throw new Error(`short write: ${offset} of ${length} bytes`);
  return length;
}
