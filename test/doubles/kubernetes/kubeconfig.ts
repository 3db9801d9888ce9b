// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: staging/src/k8s.io/client-
// go/tools/clientcmd/api/types.go.
// A kubeconfig file for the API double, as `mlopsctl run --source kubernetes --kubeconfig` reads it.
import { writeFileSync } from "node:fs";
import { stringify } from "yaml";

export function kubeconfigYaml(server: string, options: { token?: string; namespace?: string } = {}): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "double", cluster: { server, "insecure-skip-tls-verify": true } }],
    users: [{ name: "operator", user: options.token ? { token: options.token } : {} }],
    contexts: [
      {
        name: "double",
        context: {
          cluster: "double",
          user: "operator",
          ...(options.namespace ? { namespace: options.namespace } : {}),
        },
      },
    ],
    "current-context": "double",
  });
}

export function writeKubeconfig(path: string, server: string, options: { token?: string } = {}): string {
  writeFileSync(path, kubeconfigYaml(server, options), { mode: 0o600 });
  return path;
}
