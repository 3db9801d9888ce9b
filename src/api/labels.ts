// Kubernetes' rules for label keys and values and annotation keys (apimachinery's
// validation.IsQualifiedName and IsValidLabelValue, ValidateAnnotations), with its messages:
// labels become selectors, Nomad meta and Docker labels, and a label is printed on terminals.
import type { SpecIssue } from "./errors.ts";

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_NAME_PART = 63;
const MAX_PREFIX = 253;
const MAX_VALUE = 63;
/** Kubernetes' TotalAnnotationSizeLimitB: keys and values of one object together. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

const NAME_RULE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";

/** Problems of a qualified name (`[prefix/]name`), or none. */
export function qualifiedNameProblems(key: string): string[] {
  const parts = key.split("/");
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (parts.length > 2 || name === undefined) {
    return [
      `a qualified name ${NAME_RULE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const out: string[] = [];
  if (name.length === 0) out.push("name part must be non-empty");
  else if (name.length > MAX_NAME_PART)
    out.push(`name part must be no more than ${MAX_NAME_PART} characters`);
  if (name.length > 0 && !NAME_PART.test(name)) out.push(`name part ${NAME_RULE}`);
  if (prefix !== undefined) {
    if (prefix.length === 0) out.push("prefix part must be non-empty");
    else if (prefix.length > MAX_PREFIX)
      out.push(`prefix part must be no more than ${MAX_PREFIX} characters`);
    else if (!DNS1123_SUBDOMAIN.test(prefix))
      out.push(
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
      );
  }
  return out;
}

/** Problems of a label value, or none. */
export function labelValueProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > MAX_VALUE) out.push(`must be no more than ${MAX_VALUE} characters`);
  if (!LABEL_VALUE.test(value))
    out.push(`a valid label must be an empty string or ${NAME_RULE.replace("must consist", "consist")}`);
  return out;
}

/** Issues of metadata.labels and metadata.annotations (only string maps reach here). */
export function metadataMapIssues(metadata: Record<string, unknown>): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const labels = stringMap(metadata.labels);
  for (const [key, value] of Object.entries(labels)) {
    for (const message of qualifiedNameProblems(key))
      issues.push({ path: ["metadata", "labels", key], message: `key ${JSON.stringify(key)}: ${message}` });
    // Types (strings in a mapping) are the schema's check.
    if (typeof value !== "string") continue;
    for (const message of labelValueProblems(value))
      issues.push({
        path: ["metadata", "labels", key],
        message: `value ${JSON.stringify(value)}: ${message}`,
      });
  }
  const annotations = stringMap(metadata.annotations);
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    size += key.length + (typeof value === "string" ? value.length : 0);
    for (const message of qualifiedNameProblems(key))
      issues.push({
        path: ["metadata", "annotations", key],
        message: `key ${JSON.stringify(key)}: ${message}`,
      });
  }
  if (size > MAX_ANNOTATIONS_BYTES)
    issues.push({
      path: ["metadata", "annotations"],
      message: `may not have more than ${MAX_ANNOTATIONS_BYTES} bytes (256 KiB) in total (got ${size})`,
    });
  return issues;
}

function stringMap(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
