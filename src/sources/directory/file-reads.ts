// What each file of the tree was at its last read: its stat signature (a confirming read re-reads
// only files whose signature changed) and, when asked to keep them, its load (`run --once` reports
// invalid documents at its end from the loads of files unchanged since, without reading them again).
// One map for both: a clean file (one valid document, nothing skipped, no problem) is kept as its
// signature alone, and its load made again when asked around the document its one claim in the
// source's table says (`cleanDocument`): the document, its load, a second map's entry and its name
// cost ~100 bytes a file more (1 MB of a converging heap at 10,000; docs/benchmarks.md, rounds 29
// and 31). Any other load is kept whole beside its signature.
import type { DocumentResult, FileLoad } from "../yaml/index.ts";
import { signature } from "./paths.ts";
import { readYamlFile } from "./read.ts";

export type OkDocument = Extract<DocumentResult, { ok: true }>;

/** A read whose load is kept whole (anything but a clean file), or that left no load. */
interface Kept {
  readonly signature: string;
  readonly load: FileLoad | undefined;
}

export class FileReads {
  readonly #keepLoads: boolean;
  /** Each file's signature, or with loads kept and the file not clean, its signature and load. */
  readonly #reads = new Map<string, string | Kept>();

  constructor(options: { keepLoads: boolean }) {
    this.#keepLoads = options.keepLoads;
  }

  /** Reads `file` (`root`: the tree's real path) unless `force` is false and its signature is unchanged. */
  read(file: string, root: string, force: boolean): FileLoad | undefined | "unchanged" {
    if (!force) {
      const sig = signature(file);
      if (sig !== undefined && signatureOf(this.#reads.get(file)) === sig) return "unchanged";
    }
    // The signature of what is read: from the read's own fstat (one stat fewer per file), else
    // (nothing opened: a link out of the tree, a FIFO, gone) from a stat.
    let sig: string | undefined;
    const load = readYamlFile(file, file, root, (s) => {
      sig = s;
    });
    sig ??= signature(file);
    if (sig === undefined) this.#reads.delete(file);
    else if (!this.#keepLoads || (load !== undefined && isClean(file, load))) this.#reads.set(file, sig);
    else this.#reads.set(file, { signature: sig, load });
    return load;
  }

  /** Forgets the files a full read did not list. */
  keepOnly(listed: ReadonlySet<string>): void {
    for (const file of this.#reads.keys()) if (!listed.has(file)) this.#reads.delete(file);
  }

  /**
   * The load of `file`'s last read when loads are kept and the file is unchanged since (same stat
   * signature); `undefined` otherwise (read it). A clean file's load is made around
   * `cleanDocument(file)`, the one valid document its claim records (none: read it).
   */
  unchangedLoad(file: string, cleanDocument: (file: string) => OkDocument | undefined): FileLoad | undefined {
    const read = this.#reads.get(file);
    if (!this.#keepLoads || read === undefined || signature(file) !== signatureOf(read)) return undefined;
    if (typeof read !== "string") return read.load;
    const only = cleanDocument(file);
    return only && { file, documents: [only], fileIssues: [], skipped: 0, ours: true };
  }
}

function signatureOf(read: string | Kept | undefined): string | undefined {
  return typeof read === "object" ? read.signature : read;
}

/** One valid document says all of the load: kept as the signature alone. */
function isClean(file: string, load: FileLoad): boolean {
  return (
    load.file === file &&
    load.ours &&
    load.skipped === 0 &&
    load.fileIssues.length === 0 &&
    load.documents.length === 1 &&
    load.documents[0]?.ok === true
  );
}
