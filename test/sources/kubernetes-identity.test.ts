// The Kubernetes source's default owner id comes from the cluster (kube-system's UID), so the same
// cluster reached by two server URLs (in cluster through the service IP, from outside through a
// load balancer; here 127.0.0.1 and localhost) gets one id; when the UID cannot be read (RBAC), the
// server-URL id stays and a warning says why.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildOperator } from "../../src/cli/compose.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { kubernetesSource, ownerIdFor } from "../../src/sources/kubernetes/index.ts";
import { KubernetesDouble, writeKubeconfig } from "../doubles/kubernetes/index.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function double(): Promise<KubernetesDouble> {
  const kube = new KubernetesDouble();
  await kube.start();
  cleanups.push(() => kube.close());
  return kube;
}

describe("the Kubernetes source's default owner id", () => {
  it("is the same through two server URLs of one cluster, and differs between clusters", async () => {
    const kube = await double();
    const viaIp = kubernetesSource({ kubeConfig: kube.kubeConfig() });
    const viaName = kubernetesSource({
      kubeConfig: (() => {
        const config = kube.kubeConfig();
        (config.clusters[0] as { server: string }).server = kube.url.replace("127.0.0.1", "localhost");
        return config;
      })(),
    });
    expect(viaIp.defaultOwnerId).not.toBe(viaName.defaultOwnerId); // by URL: two ids
    const id = await viaIp.identify();
    expect(await viaName.identify()).toBe(id);
    expect(viaIp.defaultOwnerId).toBe(id);
    expect(id).toBe(ownerIdFor(`kube-system-uid:${kube.namespaces.uid("kube-system")}`));
    const other = await double();
    expect(await kubernetesSource({ kubeConfig: other.kubeConfig() }).identify()).not.toBe(id);
    // Scoped to a namespace: the namespace is part of the id, as before.
    const scoped = kubernetesSource({ kubeConfig: kube.kubeConfig(), namespace: "ml" });
    expect(await scoped.identify()).not.toBe(id);
  });

  it("names the server-URL id as the previous default once the cluster's id replaced it (adoption)", async () => {
    const kube = await double();
    const source = kubernetesSource({ kubeConfig: kube.kubeConfig() });
    expect(source.previousDefaultOwnerIds).toEqual([]); // before identify: the URL id is today's
    await source.identify();
    expect(source.previousDefaultOwnerIds).toEqual([ownerIdFor(kube.url)]);
    const scoped = kubernetesSource({ kubeConfig: kube.kubeConfig(), namespace: "ml" });
    await scoped.identify();
    expect(scoped.previousDefaultOwnerIds).toEqual([ownerIdFor(kube.url, "ml")]);
    kube.failNext(1, { code: 403, reason: "Forbidden", match: /\/api\/v1\/namespaces\/kube-system/ });
    const fallback = kubernetesSource({ kubeConfig: kube.kubeConfig() });
    await fallback.identify();
    expect(fallback.previousDefaultOwnerIds).toEqual([]); // still on the URL id: nothing to adopt
  });

  it("falls back to the server-URL id with a warning when kube-system cannot be read", async () => {
    const kube = await double();
    kube.failNext(1, { code: 403, reason: "Forbidden", match: /\/api\/v1\/namespaces\/kube-system/ });
    const lines: string[] = [];
    const log = createLogger({
      level: "warn",
      destination: { write: (line: string) => lines.push(line) > 0 } as never,
    });
    const source = kubernetesSource({ kubeConfig: kube.kubeConfig(), log });
    expect(await source.identify()).toBe(ownerIdFor(kube.url));
    expect(lines.join("")).toContain("cannot read namespace kube-system's UID");
    expect(lines.join("")).toContain("403");
  });

  it("is what `run --source kubernetes` uses unless --owner-id is given", async () => {
    const kube = await double();
    const dir = mkdtempSync(join(tmpdir(), "mlops-identity-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const kubeconfig = writeKubeconfig(join(dir, "kubeconfig"), kube.url);
    const common = {
      source: { kind: "kubernetes" as const, kubeconfig },
      dir,
      stateDir: join(dir, "state"),
      once: true,
      concurrency: 1,
      metricsAddr: "127.0.0.1:0",
      scheduler: "docker" as const,
      startupTimeoutMs: 1_000,
      resyncMs: 0,
      log: createLogger({ level: "silent" }),
    };
    const operator = await buildOperator(common);
    cleanups.push(() => operator.close());
    expect(operator.ownerId).toBe(ownerIdFor(`kube-system-uid:${kube.namespaces.uid("kube-system")}`));
    const pinned = await buildOperator({ ...common, stateDir: join(dir, "state-2"), ownerId: "pinned" });
    cleanups.push(() => pinned.close());
    expect(pinned.ownerId).toBe("pinned");
  });
});
