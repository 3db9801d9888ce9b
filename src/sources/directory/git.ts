// The Git revision (HEAD's commit id) of a work tree, read from the .git files themselves (HEAD,
// loose refs, packed-refs; `.git` files of worktrees and submodules with `commondir`). No shell.
import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The `.git` directory of the work tree holding `dir`, searching upwards. */
export function findGitDir(dir: string): string | undefined {
  let current = resolve(dir);
  for (let depth = 0; depth < 256; depth++) {
    const candidate = join(current, ".git");
    try {
      const stat = statSync(candidate);
      if (stat.isDirectory()) return candidate;
      if (stat.isFile() && stat.size < 64 * 1024) {
        const match = /^gitdir:\s*(.+)$/m.exec(readFileSync(candidate, "utf8"));
        if (match?.[1]) return resolve(current, match[1].trim());
      }
    } catch {
      // not here: look one level up
    }
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
  return undefined;
}

/** HEAD's commit id, or undefined when `gitDir` is not readable or HEAD names no commit yet. */
export function headRevision(gitDir: string): string | undefined {
  const head = read(join(gitDir, "HEAD"));
  if (head === undefined) return undefined;
  if (SHA.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (!ref || ref.split("/").includes("..")) return undefined;
  const common = commonDir(gitDir);
  for (let hops = 0, name = ref; hops < 8; hops++) {
    const value = read(join(gitDir, name)) ?? read(join(common, name)) ?? packedRef(common, name);
    if (value === undefined) return undefined;
    if (SHA.test(value)) return value;
    const next = /^ref:\s*(\S+)$/.exec(value)?.[1];
    if (!next || next.split("/").includes("..")) return undefined;
    name = next;
  }
  return undefined;
}

export function gitRevision(dir: string): string | undefined {
  const gitDir = findGitDir(dir);
  return gitDir ? headRevision(gitDir) : undefined;
}

function commonDir(gitDir: string): string {
  const common = read(join(gitDir, "commondir"));
  return common ? resolve(gitDir, common) : gitDir;
}

function packedRef(gitDir: string, ref: string): string | undefined {
  const text = read(join(gitDir, "packed-refs"), false);
  if (text === undefined) return undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.startsWith("^")) continue;
    const [sha, name] = line.trim().split(" ");
    if (name === ref && sha && SHA.test(sha)) return sha;
  }
  return undefined;
}

/** A regular file's text (a FIFO would block the reader; refs and packed-refs are small). */
function read(path: string, trim = true): string | undefined {
  try {
    const stat = statSync(path);
    if (!stat.isFile() || stat.size > 64 * 1024 * 1024) return undefined;
    const text = readFileSync(path, "utf8");
    return trim ? text.trim() : text;
  } catch {
    return undefined;
  }
}
