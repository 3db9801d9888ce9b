// What each file of the tree was at its last read: its stat signature (a confirming read re-reads
// only files whose signature changed) and, when asked to keep them, its load (`run --once` reports
// invalid documents at its end from the loads of files unchanged since, without reading them again).
// A clean file (one valid document, nothing skipped, no problem) is kept as its document alone and
// its load made again around it when asked: the load, its arrays and its name cost ~230 bytes a file
// more (2.3 MB of a converging heap at 10,000; docs/benchmarks.md, round 29).
import type { DocumentResult, FileLoad } from "../yaml/index.ts";
import { signature } from "./paths.ts";
import { readYamlFile } from "./read.ts";

export class FileReads {
  readonly #keepLoads: boolean;
  readonly #signatures = new Map<string, string>();
  readonly #loads = new Map<string, FileLoad | OkDocument>();

  constructor(options: { keepLoads: boolean }) {
    this.#keepLoads = options.keepLoads;
  }

  /** Reads `file` (`root`: the tree's real path) unless `force` is false and its signature is unchanged. */
  read(file: string, root: string, force: boolean): FileLoad | undefined | "unchanged" {
    if (!force) {
      const sig = signature(file);
      if (sig !== undefined && this.#signatures.get(file) === sig) return "unchanged";
    }
    // The signature of what is read: from the read's own fstat (one stat fewer per file), else
    // (nothing opened: a link out of the tree, a FIFO, gone) from a stat.
    let sig: string | undefined;
    const load = readYamlFile(file, file, root, (s) => {
      sig = s;
    });
    sig ??= signature(file);
    if (sig === undefined) this.#signatures.delete(file);
    else this.#signatures.set(file, sig);
    if (this.#keepLoads && sig !== undefined && load) this.#loads.set(file, kept(file, load));
    else this.#loads.delete(file);
    return load;
  }

  /** Forgets the files a full read did not list. */
  keepOnly(listed: ReadonlySet<string>): void {
    for (const file of this.#signatures.keys()) {
      if (listed.has(file)) continue;
      this.#signatures.delete(file);
      this.#loads.delete(file);
    }
  }

  /**
   * The load of `file`'s last read when loads are kept and the file is unchanged since (same stat
   * signature); `undefined` otherwise (read it).
   */
  unchangedLoad(file: string): FileLoad | undefined {
    const load = this.#loads.get(file);
    if (load === undefined || signature(file) !== this.#signatures.get(file)) return undefined;
    return "documents" in load ? load : { file, documents: [load], fileIssues: [], skipped: 0, ours: true };
  }
}

type OkDocument = Extract<DocumentResult, { ok: true }>;

/** What is kept of `load`: its one document when that says all of it, else the load. */
function kept(file: string, load: FileLoad): FileLoad | OkDocument {
  const [only] = load.documents;
  const clean =
    load.file === file &&
    load.ours &&
    load.skipped === 0 &&
    load.fileIssues.length === 0 &&
    load.documents.length === 1 &&
    only?.ok === true;
  return clean ? only : load;
}
