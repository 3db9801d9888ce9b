// Whole-resource validation shared by every source: apiVersion and kind, metadata names, the CRD
// schema (strict, with defaults) and the rules one schema cannot express.
import type { SpecIssue } from "./errors.ts";
import { isKind, KINDS, kindInfo } from "./kinds.ts";
import { metadataMapIssues } from "./labels.ts";
import { checkLabel } from "./names.ts";
import { type AnyResource, API_VERSION, DEFAULT_NAMESPACE, GROUP, type Kind } from "./resources.ts";
import { schemaIssues } from "./schema.ts";

export type Validation =
  | { ok: true; resource: AnyResource }
  | { ok: false; issues: SpecIssue[]; kind?: Kind; namespace?: string; name?: string };

/** True for documents that belong to this operator (group mlops.dev); others are skipped by sources. */
export function isOurs(document: unknown): boolean {
  const apiVersion = (document as { apiVersion?: unknown } | null)?.apiVersion;
  return typeof apiVersion === "string" && apiVersion.split("/")[0] === GROUP;
}

/**
 * Validates a parsed document and returns the defaulted resource (a copy; the input is untouched)
 * with generation 0, which the source then sets. Issues carry JSON paths the caller maps to lines.
 * `owned`: the caller hands the document over (a value just parsed, used for nothing else), so it
 * is not copied: defaults land in it and the resource shares its parts.
 */
export function validateDocument(document: unknown, options: { owned?: boolean } = {}): Validation {
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    return { ok: false, issues: [{ path: [], message: "a resource must be a mapping" }] };
  }
  const doc = (options.owned ? document : structuredClone(document)) as Record<string, unknown>;
  const issues: SpecIssue[] = [];
  if (doc.apiVersion !== API_VERSION) {
    issues.push({
      path: ["apiVersion"],
      message:
        doc.apiVersion === undefined
          ? `is required: "${API_VERSION}"`
          : `must be "${API_VERSION}" (got ${JSON.stringify(doc.apiVersion)})`,
    });
  }
  const kind = doc.kind;
  if (!isKind(kind)) {
    issues.push({
      path: ["kind"],
      message:
        kind === undefined
          ? `is required: ${KINDS.join(" or ")}`
          : `must be ${KINDS.join(" or ")} (got ${JSON.stringify(kind)})`,
    });
    return { ok: false, issues };
  }
  const metadata = (doc.metadata ?? {}) as Record<string, unknown>;
  const name = typeof metadata.name === "string" ? metadata.name : undefined;
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : DEFAULT_NAMESPACE;
  if (name !== undefined) {
    const problem = checkLabel(name);
    if (problem) issues.push({ path: ["metadata", "name"], message: problem });
  } else if (typeof metadata.name !== "string" && metadata.name !== undefined) {
    issues.push({ path: ["metadata", "name"], message: "must be a string" });
  } else {
    issues.push({ path: ["metadata"], message: "metadata.name is required" });
  }
  const nsProblem = checkLabel(namespace);
  if (nsProblem) issues.push({ path: ["metadata", "namespace"], message: nsProblem });
  issues.push(...metadataMapIssues(metadata));
  const info = kindInfo(kind);
  if (doc.spec === undefined && info.specOptional) doc.spec = {};
  issues.push(...schemaIssues(kind, doc));
  if (issues.length === 0) {
    issues.push(...info.rules(doc.spec as never));
  }
  const located = { kind, namespace, ...(name === undefined ? {} : { name }) };
  if (issues.length > 0) return { ok: false, issues, ...located };
  const meta = metadata;
  const resource = {
    apiVersion: API_VERSION,
    kind,
    metadata: {
      name: name as string,
      namespace,
      ...(meta.labels ? { labels: meta.labels as Record<string, string> } : {}),
      ...(meta.annotations ? { annotations: meta.annotations as Record<string, string> } : {}),
      generation: typeof meta.generation === "number" ? meta.generation : 0,
    },
    spec: doc.spec,
    // A slot for the status the source attaches later: a member added to an object made without it
    // goes to a property array of its own (40 bytes a resource; docs/benchmarks.md, round 30).
    status: undefined,
  } as unknown as AnyResource;
  return { ok: true, resource };
}
