// One file's bytes → its mlops.dev documents, each either a validated resource (defaulted, with
// generation 0) or located issues. Other YAML (workflows, kustomizations) is counted as skipped.
// Safe on hostile input: size, binary, encoding, depth and alias limits; duplicate keys are errors.
import { type Document, LineCounter, parseAllDocuments } from "yaml";
import { formatPath, type SpecIssue } from "../../api/errors.ts";
import { interner } from "../../api/intern.ts";
import { isKind } from "../../api/kinds.ts";
import { checkLabel } from "../../api/names.ts";
import { type AnyResource, DEFAULT_NAMESPACE, type Kind } from "../../api/resources.ts";
import { isOurs, validateDocument } from "../../api/validate.ts";
import { fastParse } from "./fast.ts";
import type { LocatedIssue } from "./issue.ts";
import { decodeFile, depthOf, MAX_ALIAS_COUNT, MAX_DEPTH, shapeProblem } from "./limits.ts";
import { locate } from "./locate.ts";

export interface DocumentIdentity {
  kind: Kind;
  namespace: string;
  name: string;
}

export type DocumentResult =
  | { ok: true; resource: AnyResource; line: number; col: number }
  | {
      ok: false;
      /** Issues as paths (for InvalidSpecError) and located (for messages), in the same order. */
      issues: SpecIssue[];
      located: LocatedIssue[];
      /** Kind, namespace and name, when the document says them clearly enough. */
      id?: DocumentIdentity;
    };

export interface FileLoad {
  file: string;
  /** mlops.dev documents, in file order. */
  documents: DocumentResult[];
  /** Problems of the whole file (too big, binary) or of documents that cannot be told apart. */
  fileIssues: LocatedIssue[];
  /** Documents of other API groups. */
  skipped: number;
  /** The file holds (or, when broken, seems to hold) mlops.dev resources. */
  ours: boolean;
}

export function loadBytes(file: string, bytes: Uint8Array): FileLoad {
  const decoded = decodeFile(file, bytes);
  if (!decoded.ok) {
    const head = Buffer.from(bytes.subarray(0, 64 * 1024)).toString("latin1");
    return { file, documents: [], fileIssues: [decoded.issue], skipped: 0, ours: head.includes("mlops.dev") };
  }
  return loadText(file, decoded.text);
}

export function loadText(file: string, text: string): FileLoad {
  if (text.trim() === "") {
    // What a crash mid-write leaves: never read as "no resources here". A deliberately empty file
    // says so with a comment or `---`.
    const message =
      text === ""
        ? "empty file (0 bytes): unreadable; write a comment or `---` to keep a deliberately empty file"
        : "file holds only whitespace: unreadable; write a comment or `---` to keep a deliberately empty file";
    return { file, documents: [], fileIssues: [{ file, line: 1, col: 1, message }], skipped: 0, ours: false };
  }
  const shape = shapeProblem(text);
  if (shape) {
    return {
      file,
      documents: [],
      fileIssues: [{ file, ...shape }],
      skipped: 0,
      ours: text.includes("mlops.dev"),
    };
  }
  const fast = loadFast(file, text);
  if (fast) return fast;
  const lines = new LineCounter();
  const out: FileLoad = { file, documents: [], fileIssues: [], skipped: 0, ours: false };
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    // No process warnings from user input (collection keys and the like): problems are errors or nothing.
    logLevel: "error",
  });
  const mentionsUs = text.includes("mlops.dev");
  for (const doc of docs) {
    const result = loadDocument(file, doc, lines, mentionsUs);
    if (result === "skip") out.skipped++;
    else if (result === "empty") continue;
    else if ("foreign" in result) out.fileIssues.push(...result.foreign);
    else out.documents.push(result);
  }
  if ("empty" in docs) {
    for (const error of docs.errors)
      out.fileIssues.push(located(file, lines, error.pos[0], firstLine(error.message)));
  }
  out.ours = out.documents.length > 0 || (out.fileIssues.length > 0 && mentionsUs);
  return out;
}

function loadDocument(
  file: string,
  doc: Document.Parsed,
  lines: LineCounter,
  mentionsUs: boolean,
): DocumentResult | { foreign: LocatedIssue[] } | "skip" | "empty" {
  if (doc.errors.length === 0 && (doc.contents === null || isNullScalar(doc))) return "empty";
  let value: unknown;
  let toJsError: string | undefined;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    toJsError =
      error instanceof ReferenceError && /alias/i.test(error.message)
        ? `too many aliases (more than ${MAX_ALIAS_COUNT}): refused as a resource-exhaustion attack`
        : `cannot read document: ${error instanceof Error ? error.message : String(error)}`;
  }
  const id = identify(value);
  const ours = isOurs(value) || id !== undefined;
  const start = doc.contents?.range?.[0] ?? doc.range[0];
  if (doc.errors.length > 0 || toJsError !== undefined) {
    const issues: SpecIssue[] = [];
    const where: LocatedIssue[] = [];
    for (const error of doc.errors) {
      issues.push({ path: [], message: firstLine(error.message) });
      where.push(located(file, lines, error.pos[0], firstLine(error.message)));
    }
    if (toJsError !== undefined) {
      issues.push({ path: [], message: toJsError });
      where.push(located(file, lines, start, toJsError));
    }
    // Broken and not recognisably ours: a problem of the file, which counts when the file held (or
    // names) mlops.dev resources, and for files named explicitly.
    if (!ours && !mentionsUs) return { foreign: where };
    return { ok: false, issues, located: where, ...(id ? { id } : {}) };
  }
  if (!ours) return "skip";
  if (depthOf(value) > MAX_DEPTH) {
    const message = `nesting deeper than ${MAX_DEPTH} levels`;
    return { ok: false, issues: [{ path: [], message }], located: [located(file, lines, start, message)] };
  }
  const validation = validateDocument(value);
  if (validation.ok) {
    const pos = lines.linePos(start);
    return {
      ok: true,
      resource: interner.internAll(validation.resource, { spec: true }),
      line: pos.line,
      col: pos.col,
    };
  }
  const where = validation.issues.map((issue) => {
    const pos = locate(doc, lines, issue.path);
    return { file, line: pos.line, col: pos.col, message: describeIssue(issue) };
  });
  return { ok: false, issues: validation.issues, located: where, ...(id ? { id } : {}) };
}

/** The fast path's result when it applies and everything in the file is valid (or not ours). */
function loadFast(file: string, text: string): FileLoad | undefined {
  const parsed = fastParse(text);
  if (!parsed) return undefined;
  const { value } = parsed;
  if (value === null || value === undefined) return undefined;
  if (!isOurs(value) && identify(value) === undefined) {
    return { file, documents: [], fileIssues: [], skipped: 1, ours: false };
  }
  if (depthOf(value) > MAX_DEPTH) return undefined;
  // The parsed value is this call's alone (a failed validation parses the text again): not copied.
  const validation = validateDocument(value, { owned: true });
  if (!validation.ok) return undefined;
  const resource = interner.internAll(validation.resource, { spec: true });
  const document: DocumentResult = { ok: true, resource, line: parsed.line, col: 1 };
  return { file, documents: [document], fileIssues: [], skipped: 0, ours: true };
}

/** `spec.replica unknown field (did you mean "replicas"?)`: the path, then what is wrong. */
export function describeIssue(issue: SpecIssue): string {
  return issue.path.length === 0 ? issue.message : `${formatPath(issue.path)} ${issue.message}`;
}

function identify(value: unknown): DocumentIdentity | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const doc = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const metadata = doc.metadata;
  if (!isKind(doc.kind) || typeof metadata !== "object" || metadata === null) return undefined;
  if (typeof metadata.name !== "string" || checkLabel(metadata.name) !== undefined) return undefined;
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : DEFAULT_NAMESPACE;
  // Only names that are safe as keys and file names identify a resource (no `../x`).
  if (checkLabel(namespace) !== undefined) return undefined;
  return { kind: doc.kind, namespace, name: metadata.name };
}

function isNullScalar(doc: Document.Parsed): boolean {
  const contents = doc.contents as { value?: unknown } | null;
  return (
    contents !== null &&
    "value" in contents &&
    contents.value === null &&
    doc.contents?.range?.[0] === doc.contents?.range?.[1]
  );
}

function located(file: string, lines: LineCounter, offset: number, message: string): LocatedIssue {
  const pos = lines.linePos(offset);
  return { file, line: pos.line, col: pos.col, message };
}

function firstLine(message: string): string {
  return message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? message;
}
