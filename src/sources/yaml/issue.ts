// A problem located in a file: what `mlopsctl validate` prints and what InvalidSpec conditions carry.
import { relative } from "node:path";

export interface LocatedIssue {
  /** The file as given (or found under a given directory). */
  file: string;
  /** 1-based line and column. */
  line: number;
  col: number;
  message: string;
}

/** `path:line:col: message`, the path relative to `cwd` when it lies below it. */
export function formatLocated(issue: LocatedIssue, cwd?: string): string {
  return `${displayPath(issue.file, cwd)}:${issue.line}:${issue.col}: ${issue.message}`;
}

export function displayPath(file: string, cwd?: string): string {
  if (cwd === undefined) return file;
  const rel = relative(cwd, file);
  return rel === "" || rel.startsWith("..") ? file : rel;
}
