// Where secrets are read: files under --secrets-dir, and in Kubernetes mode Secrets through the
// kubeconfig (the Kubernetes client is loaded only then).
import { type SecretGetter, SecretResolver } from "../secrets/index.ts";
import type { SourceOptions } from "./compose.ts";

/**
 * valueFrom resolution: files under --secrets-dir; Secrets through the kubeconfig in Kubernetes mode
 * (the same reader serves Notifiers' secretRef and signingKeySecretRef).
 */
export async function buildSecrets(
  choice: SourceOptions,
  secretsDir: string | undefined,
): Promise<{ resolver: SecretResolver; kubernetes?: SecretGetter }> {
  if (choice.kind === "directory") return { resolver: new SecretResolver(secretsDir ? { secretsDir } : {}) };
  const { KubernetesSecretReader, loadKubeConfig } = await import("../sources/kubernetes/index.ts");
  const reader = new KubernetesSecretReader(
    loadKubeConfig({
      ...(choice.kubeconfig ? { kubeconfig: choice.kubeconfig } : {}),
      ...(choice.context ? { context: choice.context } : {}),
    }),
  );
  const kubernetes: SecretGetter = (namespace, name) => reader.get(namespace, name);
  return { resolver: new SecretResolver({ ...(secretsDir ? { secretsDir } : {}), kubernetes }), kubernetes };
}
