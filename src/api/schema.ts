// Loads the CRDs' openAPIV3Schema (the one source of truth) and compiles strict ajv validators
// from it: unknown fields are errors (kubectl's strict validation), defaults are applied.
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";
import type { SpecIssue } from "./errors.ts";
import { kindInfo } from "./kinds.ts";
import { CRD_DIR } from "./paths.ts";
import type { Kind } from "./resources.ts";

type Schema = { [key: string]: unknown };

/** The parsed CustomResourceDefinition of a kind. */
export function loadCrd(kind: Kind): Schema {
  return parse(readFileSync(new URL(kindInfo(kind).crdFile, CRD_DIR), "utf8")) as Schema;
}

export function openApiSchema(kind: Kind): Schema {
  const crd = loadCrd(kind) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
  const version = crd.spec.versions[0];
  if (!version) throw new Error(`crds/${kindInfo(kind).crdFile} has no version`);
  return version.schema.openAPIV3Schema;
}

/** metadata as users write it in files; fields the API server sets are accepted and ignored. */
const METADATA_SCHEMA: Schema = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: {
    name: { type: "string" },
    namespace: { type: "string" },
    labels: { type: "object", additionalProperties: { type: "string" } },
    annotations: { type: "object", additionalProperties: { type: "string" } },
    generation: { type: "integer" },
    uid: { type: "string" },
    resourceVersion: { type: "string" },
    creationTimestamp: { type: ["string", "null"] },
    managedFields: { type: "array" },
    finalizers: { type: "array", items: { type: "string" } },
  },
};

/** Structural CRD schema → strict JSON schema: closed objects, no x-kubernetes extensions. */
export function strict(schema: unknown, path: readonly string[] = []): unknown {
  if (Array.isArray(schema)) return schema.map((s) => strict(s, path));
  if (schema === null || typeof schema !== "object") return schema;
  const source = schema as Schema;
  if (source["x-kubernetes-preserve-unknown-fields"] === true) return { type: "object" };
  const out: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    if (key.startsWith("x-kubernetes-") || key === "description") continue;
    if (key === "properties") {
      const props: Schema = {};
      for (const [name, sub] of Object.entries(value as Schema)) {
        props[name] =
          path.length === 0 && name === "metadata" ? METADATA_SCHEMA : strict(sub, [...path, name]);
      }
      out.properties = props;
    } else {
      out[key] = strict(value, path);
    }
  }
  if (out.properties && !("additionalProperties" in out)) out.additionalProperties = false;
  return out;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const validators = new Map<Kind, ValidateFunction>();
const strictSchemas = new Map<Kind, Schema>();

/** The kind's schema made strict, built once (each unknown field's hint walks it). */
function strictSchemaFor(kind: Kind): Schema {
  let schema = strictSchemas.get(kind);
  if (!schema) {
    schema = strict(openApiSchema(kind)) as Schema;
    strictSchemas.set(kind, schema);
  }
  return schema;
}

export function validatorFor(kind: Kind): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    addFormats(ajv);
    validate = ajv.compile(structuredClone(strictSchemaFor(kind)));
    validators.set(kind, validate);
  }
  return validate;
}

/** Validates (and defaults, in place) one document of a known kind. */
export function schemaIssues(kind: Kind, document: unknown): SpecIssue[] {
  const validate = validatorFor(kind);
  if (validate(document)) return [];
  return (validate.errors ?? []).map((error) => toIssue(error, kind));
}

function toIssue(error: ErrorObject, kind: Kind): SpecIssue {
  const path = error.instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const field = String(params.additionalProperty);
      const known = Object.keys(propertiesAt(kind, path));
      const hint = closest(field, known);
      return { path: [...path, field], message: `unknown field${hint ? ` (did you mean "${hint}"?)` : ""}` };
    }
    case "required":
      return { path: [...path, String(params.missingProperty)], message: "is required" };
    case "enum":
      return {
        path,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "type":
      return {
        path,
        message: `must be ${params.type === "integer" ? "an integer" : `of type ${params.type}`}`,
      };
    case "minimum":
      return { path, message: `must be ≥ ${params.limit}` };
    case "maximum":
      return { path, message: `must be ≤ ${params.limit}` };
    case "pattern":
      return { path, message: `must match ${params.pattern}` };
    default:
      return { path, message: error.message ?? error.keyword };
  }
}

function propertiesAt(kind: Kind, path: readonly (string | number)[]): Schema {
  let node = strictSchemaFor(kind) as Schema | undefined;
  for (const part of path) {
    if (!node) return {};
    node = (typeof part === "number" ? node.items : (node.properties as Schema | undefined)?.[part]) as
      | Schema
      | undefined;
  }
  return (node?.properties as Schema | undefined) ?? {};
}

/**
 * The known field nearest to a typo, when it is near enough to be a likely intent; else the one
 * field the word begins (`delay` → `delaySeconds`, a unit left out), when only one does.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  return nearest(word, candidates) ?? completion(word, candidates);
}

function completion(word: string, candidates: readonly string[]): string | undefined {
  if (word.length < 4) return undefined;
  const lower = word.toLowerCase();
  const begun = candidates.filter((c) => c.toLowerCase().startsWith(lower));
  return begun.length === 1 ? begun[0] : undefined;
}

function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
