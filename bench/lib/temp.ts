// Temporary directories for benchmarks, removed by cleanup(). They live under one parent that ext4
// treats as the top of a directory hierarchy (`chattr +T`, EXT4_TOPDIR_FL): the allocator spreads its
// subdirectories over block groups (Orlov) instead of putting each next to its parent, and a file's
// inode goes in its directory's group. So a benchmark's state files are not created among the inodes
// the previous benchmark's clean-up freed, which ext4 without a journal scans past for 60-300 s
// (churn.ts; docs/benchmarks.md, rounds 7 and 8).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recordCleanup } from "./churn.ts";
import { onCleanup } from "./cleanup.ts";

let parent: { readonly dir: string; readonly spread: string } | undefined;

/** The parent directory, and how its subdirectories are placed (for the benchmark's report). */
export function tempParent(): { readonly dir: string; readonly spread: string } {
  if (parent) return parent;
  const dir = join(tmpdir(), "mlops-bench");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // chattr is e2fsprogs' (on every Debian machine); other file systems refuse the flag.
  const r = spawnSync("chattr", ["+T", dir], { encoding: "utf8", timeout: 10_000 });
  const spread =
    r.status === 0
      ? "each benchmark's directory in a block group of its own (chattr +T on its parent)"
      : `directories placed by the file system's default (chattr +T failed: ${(r.error?.message ?? r.stderr).trim() || `exit ${r.status}`})`;
  parent = { dir, spread };
  return parent;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tempParent().dir, `${prefix}-`));
  onCleanup(() => {
    recordCleanup(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
