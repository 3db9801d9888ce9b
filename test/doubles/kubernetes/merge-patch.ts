// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: RFC 7386,
// staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go.
// RFC 7386 MergePatch(target, patch), as the API server applies application/merge-patch+json.
// Written apart from the source's patch builder so that each checks the other.

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}
