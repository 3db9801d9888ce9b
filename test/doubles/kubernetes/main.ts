// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: see server.ts.
// The Kubernetes API double as a process, for trying `mlopsctl run --source kubernetes` by hand:
//   node test/doubles/kubernetes/main.ts --kubeconfig /tmp/double.kubeconfig [--token T] [--apply FILE.yaml]
// prints the URL, writes a kubeconfig pointing at it, creates the documents of --apply, serves until killed.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import { writeKubeconfig } from "./kubeconfig.ts";
import { KubernetesDouble } from "./server.ts";

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    token: { type: "string" },
    apply: { type: "string", multiple: true },
  },
});
const double = new KubernetesDouble(values.token ? { token: values.token } : {});
const url = await double.start();
if (values.kubeconfig) writeKubeconfig(values.kubeconfig, url, values.token ? { token: values.token } : {});
for (const file of values.apply ?? []) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const object = doc.toJS() as { kind: string; metadata: { name: string; namespace?: string } } | null;
    if (object) double.create(object);
  }
}
process.stdout.write(`${url}\n`);
const stop = () => {
  double.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
