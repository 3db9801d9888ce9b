// The rules of a Notifier's spec the schema cannot express: exactly one of address and addressFile,
// an http(s) address, a relative addressFile without "..".
import type { SpecIssue } from "./errors.ts";
import type { NotifierSpec } from "./resources.ts";

export function notifierIssues(spec: NotifierSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if ((spec.address === undefined) === (spec.addressFile === undefined)) {
    issues.push({ path: ["spec"], message: "set exactly one of address and addressFile" });
  }
  if (spec.address !== undefined && !isHttpUrl(spec.address)) {
    issues.push({ path: ["spec", "address"], message: "must be an http:// or https:// URL" });
  }
  const file = spec.addressFile;
  if (file !== undefined && (file.startsWith("/") || file.split(/[\\/]/).includes(".."))) {
    issues.push({
      path: ["spec", "addressFile"],
      message: 'must be a relative path inside --secrets-dir without ".."',
    });
  }
  return issues;
}

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
