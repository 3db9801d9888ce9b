// The rules of a Notifier's spec the schema cannot express: exactly one of address, addressFile and
// secretRef; at most one of signingKeyFile and signingKeySecretRef; an http(s) address; files as
// relative paths without "..".
import type { SpecIssue } from "./errors.ts";
import type { NotifierSpec } from "./resources.ts";

export function notifierIssues(spec: NotifierSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const sources = [spec.address, spec.addressFile, spec.secretRef].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    issues.push({ path: ["spec"], message: "set exactly one of address, addressFile and secretRef" });
  }
  if (spec.signingKeyFile !== undefined && spec.signingKeySecretRef !== undefined) {
    issues.push({ path: ["spec"], message: "set at most one of signingKeyFile and signingKeySecretRef" });
  }
  if (spec.address !== undefined && !isHttpUrl(spec.address)) {
    issues.push({ path: ["spec", "address"], message: "must be an http:// or https:// URL" });
  }
  for (const field of ["addressFile", "signingKeyFile"] as const) {
    const file = spec[field];
    if (file !== undefined && (file.startsWith("/") || file.split(/[\\/]/).includes(".."))) {
      issues.push({
        path: ["spec", field],
        message: 'must be a relative path inside --secrets-dir without ".."',
      });
    }
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
