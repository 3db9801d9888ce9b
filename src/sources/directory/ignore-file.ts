// `.mlopsignore` at the root of the watched tree: paths the team wants the directory source (and
// `validate`) to skip, in gitignore syntax, as Flux's `.sourceignore`. Nothing is ignored by guess:
// an unreadable YAML file that is not listed here blocks pruning.
import { lstatSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import ignore, { type Ignore } from "ignore";

export const IGNORE_FILE = ".mlopsignore";
/** Larger ignore files are not read (a list of patterns is a few lines). */
const MAX_IGNORE_BYTES = 1024 * 1024;

export class IgnoreRules {
  readonly #root: string;
  readonly #rules: Ignore | undefined;

  private constructor(root: string, rules: Ignore | undefined) {
    this.#root = root;
    this.#rules = rules;
  }

  /**
   * The rules of `<root>/.mlopsignore`, or none when there is no such regular file (a FIFO there
   * would block the reader; a link is not followed). Without rules nothing is ignored: the safe side,
   * where a file the team meant to skip blocks prunes until the ignore file is fixed.
   */
  static load(root: string): IgnoreRules {
    const path = join(root, IGNORE_FILE);
    let text: string;
    try {
      const stat = lstatSync(path);
      if (!stat.isFile() || stat.size > MAX_IGNORE_BYTES) return new IgnoreRules(root, undefined);
      text = readFileSync(path, "utf8");
    } catch {
      return new IgnoreRules(root, undefined);
    }
    return new IgnoreRules(root, ignore({ allowRelativePaths: true }).add(text));
  }

  static none(root: string): IgnoreRules {
    return new IgnoreRules(root, undefined);
  }

  /** True when `path` (below the root) is ignored; directories match patterns ending in `/`. */
  ignores(path: string, isDirectory: boolean): boolean {
    if (!this.#rules) return false;
    const rel = relative(this.#root, path);
    if (rel === "" || rel.startsWith("..")) return false;
    const posix = sep === "/" ? rel : rel.split(sep).join("/");
    return this.#rules.ignores(isDirectory ? `${posix}/` : posix);
  }
}
