// The vendors' published API specs as strict test oracles. The specs mark almost nothing required and
// allow any extra property, so a check against them alone can hardly fail; here every object schema
// that declares properties forbids the others (additionalProperties: false), each suite names the
// fields it requires per schema, and the places where real servers differ from the specs
// (../shared/vendor-specs/README.md) are declared as exceptions next to the suite that needs them.
//
// Specs are found through VENDOR_SPECS_DIR (default ../shared/vendor-specs from the repo root). Where
// they are absent (a user's clone) the suites skip with a visible message; under CI=true they fail.
// Works for OpenAPI 3.0 (Nomad, Grafana) and Swagger 2.0 (Docker) documents.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { describe, it } from "vitest";
import { parse as parseYaml } from "yaml";

export const NOMAD_SPEC = "nomad-openapi-v1.yaml";
export const GRAFANA_SPEC = "grafana-openapi3-9.5.0-pre.json";
export const DOCKER_SPEC = "docker-engine-api-v1.41-docs-master.yaml";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export function vendorSpecsDir(): string {
  return resolve(repoRoot, process.env.VENDOR_SPECS_DIR ?? "../shared/vendor-specs");
}

/** True when the given spec files (default: all three) are present. */
export function specsAvailable(files: readonly string[] = [NOMAD_SPEC, GRAFANA_SPEC, DOCKER_SPEC]): boolean {
  return files.every((file) => existsSync(join(vendorSpecsDir(), file)));
}

/**
 * `describe` that needs the vendor specs: skipped with a visible message when they are absent, and a
 * failing suite instead under CI=true (a CI run must never silently lose its oracles).
 */
export function describeWithSpecs(name: string, fn: () => void, files?: readonly string[]): void {
  if (specsAvailable(files)) {
    describe(name, fn);
    return;
  }
  const why = `vendor specs not found in ${vendorSpecsDir()} (set VENDOR_SPECS_DIR)`;
  if (process.env.CI === "true") {
    describe(name, () => {
      it("has its vendor specs", () => {
        throw new Error(`${name}: ${why}; CI=true requires them`);
      });
    });
    return;
  }
  console.warn(`SKIPPED ${name}: ${why}`);
  // Skipped on purpose, visibly: a user's clone has no vendor specs; CI (CI=true) fails instead (above).
  describe.skip(`${name} [skipped: ${why}]`, fn);
}

export type JsonSchema = Record<string, unknown>;

export interface StrictOptions {
  /** Allow null for every property and array item (Nomad sends null for empty arrays, maps, times). */
  nullable?: boolean;
  /**
   * Required properties per schema: a component name (`Job`, `Allocation`; Swagger 2.0 definitions
   * alike) or a JSON pointer into the document (`#/components/responses/X/content/application~1json/schema`).
   */
  required?: Readonly<Record<string, readonly string[]>>;
  /**
   * Where the server differs from the spec: per schema (same keys as `required`), properties to add
   * or whose schema to replace (`{ Index: { type: "integer" } }`); `false` removes a property that the
   * server never sends/accepts.
   */
  exceptions?: Readonly<Record<string, Readonly<Record<string, JsonSchema | false>>>>;
}

export interface SpecValidator {
  (data: unknown): boolean;
  errors: ErrorObject[] | null | undefined;
  /** Throws with every ajv error (instance path + message) when `data` does not validate. */
  assert(data: unknown, what?: string): void;
}

type Doc = Record<string, unknown>;

const rawDocs = new Map<string, Doc>();
const compiled = new Map<string, { ajv: Ajv; id: string; doc: Doc }>();

export function loadSpec(file: string): Doc {
  let doc = rawDocs.get(file);
  if (!doc) {
    const text = readFileSync(join(vendorSpecsDir(), file), "utf8");
    doc = (file.endsWith(".json") ? JSON.parse(text) : parseYaml(text, { maxAliasCount: -1 })) as Doc;
    rawDocs.set(file, doc);
  }
  return doc;
}

function isSwagger2(doc: Doc): boolean {
  return typeof doc.swagger === "string" && doc.swagger.startsWith("2");
}

/** Response body schema of `method path` (path as written in the spec, e.g. `/job/{jobName}`). */
export function responseValidator(
  file: string,
  path: string,
  method: string,
  status: number | "default",
  options: StrictOptions = {},
): SpecValidator {
  const { doc } = prepared(file, options);
  const op = operation(doc, file, path, method);
  const responses = op.responses as Record<string, unknown> | undefined;
  let pointer = `${opPointer(path, method)}/responses/${status}`;
  if (!responses?.[String(status)]) throw new Error(`${file}: ${method} ${path} has no ${status} response`);
  pointer = follow(doc, pointer);
  const schema = isSwagger2(doc)
    ? `${pointer}/schema`
    : `${follow(doc, pointer)}/content/${pointerPart(jsonContent(at(doc, `${pointer}/content`), file, path))}/schema`;
  return validatorAt(file, options, schema, `${method.toUpperCase()} ${path} → ${status}`);
}

/** Request body schema of `method path`. */
export function requestValidator(
  file: string,
  path: string,
  method: string,
  options: StrictOptions = {},
): SpecValidator {
  const { doc } = prepared(file, options);
  const op = operation(doc, file, path, method);
  const base = opPointer(path, method);
  let schema: string;
  if (isSwagger2(doc)) {
    const params = (op.parameters ?? []) as Record<string, unknown>[];
    const index = params.findIndex(
      (_, i) => (at(doc, follow(doc, `${base}/parameters/${i}`)) as Doc | undefined)?.in === "body",
    );
    if (index < 0) throw new Error(`${file}: ${method} ${path} takes no body`);
    schema = `${follow(doc, `${base}/parameters/${index}`)}/schema`;
  } else {
    if (!op.requestBody) throw new Error(`${file}: ${method} ${path} takes no body`);
    const body = follow(doc, `${base}/requestBody`);
    schema = `${body}/content/${pointerPart(jsonContent(at(doc, `${body}/content`), file, path))}/schema`;
  }
  return validatorAt(file, options, schema, `${method.toUpperCase()} ${path} request`);
}

/** A named component schema (`Job`) or a JSON pointer, with the same strict treatment. */
export function schemaValidator(
  file: string,
  nameOrPointer: string,
  options: StrictOptions = {},
): SpecValidator {
  const { doc } = prepared(file, options);
  return validatorAt(file, options, schemaPointer(doc, nameOrPointer).slice(1), nameOrPointer);
}

function validatorAt(file: string, options: StrictOptions, pointer: string, what: string): SpecValidator {
  const { ajv, id, doc } = prepared(file, options);
  if (at(doc, pointer) === undefined) throw new Error(`${file}: no schema at ${pointer} (${what})`);
  const validate: ValidateFunction = ajv.compile({ $ref: `${id}#${pointer}` });
  const wrapper = ((data: unknown) => {
    const ok = validate(data);
    wrapper.errors = validate.errors;
    return ok;
  }) as SpecValidator;
  wrapper.errors = undefined;
  wrapper.assert = (data: unknown, label = what) => {
    if (!wrapper(data)) throw new Error(`${label} does not match ${file}:\n${formatErrors(wrapper.errors)}`);
  };
  return wrapper;
}

export function formatErrors(errors: readonly ErrorObject[] | null | undefined): string {
  // Nullable wrappers (anyOf [null, schema]) add two noise errors per level: keep the real ones.
  const real = (errors ?? []).filter(
    (e) =>
      e.keyword !== "anyOf" && !(e.keyword === "type" && (e.params as { type?: unknown }).type === "null"),
  );
  return (real.length > 0 ? real : (errors ?? []))
    .map((e) => {
      const extra =
        e.keyword === "additionalProperties"
          ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
          : "";
      return `  ${e.instancePath || "(root)"} ${e.message ?? e.keyword}${extra}`;
    })
    .join("\n");
}

function prepared(file: string, options: StrictOptions): { ajv: Ajv; id: string; doc: Doc } {
  const cacheKey = `${file}\u0000${JSON.stringify(options)}`;
  let entry = compiled.get(cacheKey);
  if (entry) return entry;
  const doc = structuredClone(loadSpec(file));
  strictify(doc, options);
  const id = `spec-${compiled.size}-${file}`;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  for (const f of ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]) {
    ajv.addFormat(f, { type: "number", validate: (n: number) => Number.isInteger(n) });
  }
  for (const f of ["float", "double", "byte", "binary", "password", "table", "dual"]) ajv.addFormat(f, true);
  ajv.addSchema({ ...doc, $id: id } as never);
  entry = { ajv, id, doc };
  compiled.set(cacheKey, entry);
  return entry;
}

function strictify(doc: Doc, options: StrictOptions): void {
  // Exceptions and required lists first, so that added properties are covered by the walk below.
  for (const [key, props] of Object.entries(options.exceptions ?? {})) {
    const schema = schemaAt(doc, key);
    if (!isObject(schema.properties)) schema.properties = {};
    const properties = schema.properties as Record<string, unknown>;
    for (const [name, value] of Object.entries(props)) {
      if (value === false) {
        delete properties[name];
        // A property the server never sends cannot stay required.
        if (Array.isArray(schema.required)) schema.required = schema.required.filter((r) => r !== name);
      } else properties[name] = structuredClone(value);
    }
  }
  for (const [key, fields] of Object.entries(options.required ?? {})) {
    const schema = schemaAt(doc, key);
    const properties = (schema.properties ?? {}) as Record<string, unknown>;
    for (const field of fields) {
      if (!(field in properties))
        throw new Error(`required field ${key}.${field} is not declared by the spec`);
    }
    schema.required = [...new Set([...((schema.required as string[] | undefined) ?? []), ...fields])];
  }
  const swagger2 = isSwagger2(doc);
  const seen = new Set<unknown>();
  const walk = (schema: unknown): void => {
    if (!isObject(schema) || seen.has(schema)) return;
    seen.add(schema);
    if (swagger2 && schema["x-nullable"] === true) schema.nullable = true;
    if (isObject(schema.properties) && schema.additionalProperties === undefined) {
      if (schema.type === undefined || schema.type === "object") schema.additionalProperties = false;
    }
    if (isObject(schema.properties)) {
      for (const [name, sub] of Object.entries(schema.properties)) {
        walk(sub);
        if (options.nullable) schema.properties[name] = nullable(sub);
      }
    }
    if (isObject(schema.items)) {
      walk(schema.items);
      if (options.nullable) schema.items = nullable(schema.items);
    }
    if (isObject(schema.additionalProperties)) {
      walk(schema.additionalProperties);
      if (options.nullable) schema.additionalProperties = nullable(schema.additionalProperties);
    }
    for (const k of ["allOf", "anyOf", "oneOf"]) {
      if (Array.isArray(schema[k])) for (const s of schema[k]) walk(s);
    }
    walk(schema.not);
  };
  for (const schema of Object.values(componentSchemas(doc))) walk(schema);
  // Inline schemas under paths, responses, request bodies and parameters.
  const visitInline = (node: unknown): void => {
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "schema") walk(value);
      else visitInline(value);
    }
  };
  visitInline(doc.paths);
  if (isObject(doc.components)) {
    for (const [key, value] of Object.entries(doc.components)) if (key !== "schemas") visitInline(value);
  }
  if (swagger2) visitInline(doc.responses);
}

function nullable(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  if (typeof schema.type === "string" && schema.$ref === undefined) return { ...schema, nullable: true };
  return { anyOf: [{ type: "null" }, schema] };
}

function componentSchemas(doc: Doc): Record<string, unknown> {
  const schemas = isSwagger2(doc) ? doc.definitions : (doc.components as Doc | undefined)?.schemas;
  return (schemas ?? {}) as Record<string, unknown>;
}

function schemaPointer(doc: Doc, key: string): string {
  if (key.startsWith("#/")) return key;
  return isSwagger2(doc) ? `#/definitions/${pointerPart(key)}` : `#/components/schemas/${pointerPart(key)}`;
}

function schemaAt(doc: Doc, key: string): Record<string, unknown> {
  const schema = at(doc, schemaPointer(doc, key).slice(1));
  if (!isObject(schema)) throw new Error(`no schema ${key} in the spec`);
  return schema;
}

function operation(doc: Doc, file: string, path: string, method: string): Record<string, unknown> {
  const op = at(doc, opPointer(path, method));
  if (!isObject(op)) throw new Error(`${file}: no operation ${method.toUpperCase()} ${path}`);
  return op;
}

function opPointer(path: string, method: string): string {
  return `/paths/${pointerPart(path)}/${method.toLowerCase()}`;
}

function jsonContent(content: unknown, file: string, path: string): string {
  const types = Object.keys(isObject(content) ? content : {});
  const type = types.find((t) => t === "application/json") ?? types.find((t) => t.includes("json"));
  if (!type) throw new Error(`${file}: ${path} has no JSON content (${types.join(", ") || "none"})`);
  return type;
}

/** Follows `$ref`s of non-schema objects (responses, request bodies, parameters) to a pointer. */
function follow(doc: Doc, pointer: string, node: unknown = at(doc, pointer)): string {
  let current = pointer;
  let value = node;
  for (let hops = 0; hops < 16 && isObject(value) && typeof value.$ref === "string"; hops++) {
    current = value.$ref.replace(/^#/, "");
    value = at(doc, current);
  }
  return current;
}

function at(doc: unknown, pointer: string): unknown {
  let value: unknown = doc;
  for (const part of pointer.split("/").slice(1)) {
    if (!isObject(value) && !Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return value;
}

function pointerPart(part: string): string {
  return part.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
