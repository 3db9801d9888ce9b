// manifests/kubernetes/: valid YAML of the expected kinds, wired together (binding → role and service
// account, deployment → service account), a locked-down operator container, and RBAC that allows
// every request the Kubernetes source makes (recorded against the API double, not listed by hand).

import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { KINDS, kindInfo } from "../../src/api/kinds.ts";
import {
  ClientEventSink,
  FINALIZER,
  KubeEventRecorder,
  KubernetesSecretReader,
} from "../../src/sources/kubernetes/index.ts";
import { KubeLeaseLock } from "../../src/sources/kubernetes/lease.ts";
import { KubeSharedState } from "../../src/sources/kubernetes/shared-state.ts";
import {
  type KubeHarness,
  KubernetesDouble,
  startHarness,
  trainingJob,
  until,
} from "../doubles/kubernetes/index.ts";

const DIR = new URL("../../manifests/kubernetes/", import.meta.url);
const CRDS = new URL("../../crds/", import.meta.url);

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
};
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
type RuleWithNames = Rule & { resourceNames?: string[] };

/** A recorded request as an RBAC rule would name it: `verb resource.group[/status] [name]`. */
function requestRule(r: { method: string; path: string; query: Record<string, string> }): string {
  const parts = r.path.split("/").filter((p) => p !== "");
  const [root, ...rest] = parts;
  const group = root === "api" ? "" : (rest.shift() as string);
  rest.shift(); // the version
  const scoped = rest[0] === "namespaces" && rest.length >= 3 ? rest.slice(2) : rest;
  const [resource, name, sub] = scoped as [string, string?, string?];
  const verb =
    r.method === "GET"
      ? r.query.watch
        ? "watch"
        : name !== undefined
          ? "get"
          : "list"
      : ({ PATCH: "patch", PUT: "update", POST: "create", DELETE: "delete" } as Record<string, string>)[
          r.method
        ];
  // Rules name only kube-system among namespaces (resourceNames); every other resource by kind.
  const named = resource === "namespaces" && name ? ` ${name}` : "";
  return `${verb} ${resource}${group ? `.${group}` : ""}${sub ? `/${sub}` : ""}${named}`;
}

function load(dir: URL): { file: string; doc: Doc }[] {
  const out: { file: string; doc: Doc }[] = [];
  // kustomization.yaml is kustomize's index of the folder, not an object (kubernetes-kustomize.test.ts).
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")) {
    for (const document of parseAllDocuments(readFileSync(new URL(file, dir), "utf8"))) {
      expect(document.errors, file).toEqual([]);
      const doc = document.toJS() as Doc | null;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}

const manifests = load(DIR);
const byKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
const one = (kind: string) => {
  const found = byKind(kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Doc;
};

function allows(rules: Rule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
  );
}

let harness: KubeHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("manifests/kubernetes", () => {
  it("parses into the operator's objects, each named, namespaced ones in mlops-system", () => {
    expect(new Set(manifests.map((m) => m.doc.kind))).toEqual(
      new Set([
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
      ]),
    );
    for (const { file, doc } of manifests) {
      expect(doc.apiVersion, file).toMatch(/^([a-z0-9.]+\/)?v1$/);
      expect(doc.metadata.name, file).toMatch(/^[a-z0-9-]+$/);
      const clusterScoped = ["Namespace", "ClusterRole", "ClusterRoleBinding"].includes(doc.kind);
      expect(doc.metadata.namespace, `${file} ${doc.kind}`).toBe(clusterScoped ? undefined : "mlops-system");
    }
  });

  it("binds the ClusterRole to the ServiceAccount the Deployment runs as", () => {
    const binding = one("ClusterRoleBinding") as Doc & {
      roleRef: { kind: string; name: string };
      subjects: Doc[];
    };
    const account = one("ServiceAccount");
    const deployment = one("Deployment") as Doc & {
      spec: { template: { spec: { serviceAccountName: string } } };
    };
    expect(binding.roleRef).toMatchObject({ kind: "ClusterRole", name: one("ClusterRole").metadata.name });
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: account.metadata.name, namespace: "mlops-system" },
    ]);
    expect(deployment.spec.template.spec.serviceAccountName).toBe(account.metadata.name);
  });

  it("runs `run --source kubernetes` non-root on a read-only root filesystem with metrics and probes on 9464", () => {
    type Pod = { securityContext: Record<string, unknown>; containers: Record<string, unknown>[] };
    const deployment = one("Deployment") as Doc & { spec: { template: { spec: Pod } } };
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0] as Record<string, unknown>;
    expect(container.image).toBe("mlops-operator:dev");
    const args = (container.args as string[]).join(" ");
    expect(args).toMatch(/^run --source kubernetes\b/);
    expect(args).toContain("--leader-elect");
    expect((deployment.spec as unknown as { replicas: number }).replicas).toBe(2);
    expect(args).toContain("--metrics-addr 0.0.0.0:9464");
    expect(container.ports).toEqual([{ name: "metrics", containerPort: 9464, protocol: "TCP" }]);
    expect(container).toMatchObject({
      livenessProbe: { httpGet: { path: "/healthz", port: "metrics" } },
      readinessProbe: { httpGet: { path: "/readyz", port: "metrics" } },
      securityContext: {
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      },
    });
    const mounts = (container.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath);
    expect(args).toContain(`--state-dir ${mounts.find((m) => m.startsWith("/var/lib/"))}`);
  });

  it("names the resources the CRDs serve", () => {
    const crds = load(CRDS).map(
      (c) =>
        c.doc as Doc & {
          spec: {
            group: string;
            scope: string;
            names: { plural: string };
            versions: { subresources?: { status?: unknown } }[];
          };
        },
    );
    const rules = (one("ClusterRole") as Doc & { rules: Rule[] }).rules;
    expect(crds).toHaveLength(KINDS.length);
    for (const crd of crds) {
      expect(crd.spec).toMatchObject({ group: "mlops.dev", scope: "Namespaced" });
      expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
      for (const verb of ["get", "list", "watch", "patch"])
        expect(allows(rules, "mlops.dev", crd.spec.names.plural, verb)).toBe(true);
      expect(allows(rules, "mlops.dev", `${crd.spec.names.plural}/status`, "patch")).toBe(true);
    }
    expect(allows(rules, "", "events", "create")).toBe(true);
    // valueFrom.secretKeyRef and a Notifier's secretRef read one Secret by name: get, and nothing more.
    const onSecrets = rules.filter((r) => r.resources.includes("secrets"));
    expect(onSecrets.flatMap((r) => r.verbs)).toEqual(["get"]);
    expect(allows(rules, "", "secrets", "get")).toBe(true);
    // The owner id reads kube-system's UID, and no other namespace.
    const onNamespaces = rules.filter((r) => r.resources.includes("namespaces"));
    expect(onNamespaces).toEqual([
      { apiGroups: [""], resources: ["namespaces"], resourceNames: ["kube-system"], verbs: ["get"] },
    ]);
  });

  it("grants exactly the requests the operator makes: source, events, secrets, the cluster's identity", async () => {
    harness = await startHarness();
    const h = harness;
    h.double.create(trainingJob("a"));
    await until(
      "finalizer",
      () => h.double.state.get("trainingjobs", "ml", "a").metadata.finalizers?.includes(FINALIZER) === true,
    );
    await until(
      "the finalizer patch answered",
      () => h.double.openWatches === KINDS.length && h.source.get("TrainingJob/ml/a") !== undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Events: a new one (POST) and a repeat (PATCH).
    const events = new KubeEventRecorder({
      sink: new ClientEventSink(h.double.kubeConfig()),
      reference: (key) => h.source.reference(key),
    });
    events.event("TrainingJob/ml/a", "Normal", "Submitted", "run r1");
    await events.flush();
    events.event("TrainingJob/ml/a", "Normal", "Submitted", "run r1");
    await events.flush();
    expect(events.stats).toMatchObject({ created: 1, patched: 1, failed: 0 });
    // valueFrom.secretKeyRef and the owner id.
    h.double.secrets.put("ml", "token", { value: "x" });
    await new KubernetesSecretReader(h.double.kubeConfig()).get("ml", "token");
    await h.source.identify();
    h.double.stallWatches();
    h.double.state.patch("trainingjobs", "ml", "a", { metadata: { labels: { x: "y" } } }); // → 409 → get
    await h.source.write(h.source.get("TrainingJob/ml/a") as never, { phase: "Pending" } as never);
    h.double.state.delete("trainingjobs", "ml", "a");
    h.double.dropWatches();
    await until("deleted", () => h.source.lookup("TrainingJob/ml/a").state === "deleted");
    await h.source.forget("TrainingJob/ml/a");

    const needed = new Set(h.double.requests.map(requestRule));
    expect([...needed].sort()).toEqual(
      expect.arrayContaining([
        "create events",
        "get namespaces kube-system",
        "get secrets",
        "get trainingjobs.mlops.dev",
        "list trainingjobs.mlops.dev",
        "patch events",
        "patch trainingjobs.mlops.dev",
        "patch trainingjobs.mlops.dev/status",
        "watch trainingjobs.mlops.dev",
      ]),
    );
    // What the ClusterRole grants is what was requested (the same verbs on every kind).
    const granted: string[] = [];
    for (const rule of (one("ClusterRole") as Doc & { rules: RuleWithNames[] }).rules) {
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of rule.verbs)
            for (const name of rule.resourceNames ?? [""]) {
              const [base, sub] = resource.split("/");
              granted.push(
                `${verb} ${base}${group ? `.${group}` : ""}${sub ? `/${sub}` : ""}${name ? ` ${name}` : ""}`,
              );
            }
    }
    const otherKinds = KINDS.map((k) => kindInfo(k).plural).filter((p) => p !== "trainingjobs");
    const asTrainingJobs = (g: string) =>
      otherKinds.reduce((t, p) => t.replace(` ${p}.`, " trainingjobs."), g);
    const requested = new Set([...needed].map(asTrainingJobs));
    expect(new Set(granted.map(asTrainingJobs))).toEqual(requested);
    for (const plural of otherKinds) {
      const onKind = granted.filter((g) => g.includes(` ${plural}.`)).map(asTrainingJobs);
      expect(onKind.sort(), plural).toEqual(
        [...requested].filter((n) => n.includes(" trainingjobs.")).sort(),
      );
    }
  });

  it("grants exactly the Lease and ConfigMap requests leader election makes, in the operator's namespace only", async () => {
    const role = one("Role") as Doc & { rules: Rule[] };
    const binding = one("RoleBinding") as Doc & { roleRef: { name: string }; subjects: Doc[] };
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: one("ServiceAccount").metadata.name, namespace: "mlops-system" },
    ]);
    const kube = new KubernetesDouble();
    await kube.start();
    try {
      const signal = new AbortController().signal;
      const lock = (holder: string) =>
        new KubeLeaseLock(kube.kubeConfig(), {
          namespace: "mlops-system",
          name: "mlops-operator",
          holder,
          leaseDurationMs: 1_000,
        });
      const a = lock("a");
      await a.tryAcquireOrRenew(signal); // get (404), create
      await a.tryAcquireOrRenew(signal); // get, update
      await lock("b").tryAcquireOrRenew(signal); // get (held)
      await a.release(); // update
      // The state a new leader reads (the notification record): get, create, update.
      const shared = new KubeSharedState(kube.kubeConfig(), {
        namespace: "mlops-system",
        prefix: "mlops-operator-state",
      });
      await shared.get("notifications/0");
      const version = (await shared.put("notifications/0", {}, 0)) as number;
      await shared.put("notifications/0", { sent: {} }, version);
      const verbs = { GET: "get", POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" };
      const needed = (path: string) =>
        [
          ...new Set(
            kube.requests
              .filter((r) => r.path.startsWith(path))
              .map((r) => verbs[r.method as keyof typeof verbs]),
          ),
        ].sort();
      const leases = needed("/apis/coordination.k8s.io/v1/namespaces/mlops-system/leases");
      const configMaps = needed("/api/v1/namespaces/mlops-system/configmaps");
      expect(
        kube.requests.every(
          (r) =>
            r.path.startsWith("/apis/coordination.k8s.io/") ||
            r.path.startsWith("/api/v1/namespaces/mlops-system/configmaps"),
        ),
      ).toBe(true);
      expect(leases).toEqual(["create", "get", "update"]);
      expect(configMaps).toEqual(["create", "get", "update"]);
      expect(role.rules.map((r) => ({ ...r, verbs: [...r.verbs].sort() }))).toEqual([
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: leases },
        { apiGroups: [""], resources: ["configmaps"], verbs: configMaps },
      ]);
    } finally {
      await kube.close();
    }
  });
});
