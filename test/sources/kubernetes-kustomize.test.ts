// manifests/kubernetes/kustomization.yaml (and crds/kustomization.yaml, the base it includes):
// every resource it lists exists and every manifest of the folder is listed, checked by parsing
// alone; and, where kubectl is installed, `kubectl kustomize manifests/kubernetes` renders exactly
// the objects of those files: the CRDs, the Deployment with 2 replicas and --leader-elect.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { KINDS, kindInfo } from "../../src/api/kinds.ts";

const exec = promisify(execFile);
const ROOT = new URL("../../", import.meta.url);
const DIR = new URL("manifests/kubernetes/", ROOT);
const CRDS = new URL("crds/", ROOT);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
type Kustomization = { apiVersion: string; kind: string; resources: string[] };

const manifestFiles = (dir: URL) =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")
    .sort();

function kustomization(dir: URL): Kustomization {
  return parse(readFileSync(new URL("kustomization.yaml", dir), "utf8")) as Kustomization;
}

function objectsOf(text: string, where: string): Obj[] {
  return parseAllDocuments(text).flatMap((d) => {
    expect(d.errors, where).toEqual([]);
    const value = d.toJS() as Obj | null;
    return value ? [value] : [];
  });
}

/** `kind namespace/name` of every object the files of a folder hold. */
function idsOf(dir: URL): string[] {
  return manifestFiles(dir).flatMap((file) =>
    objectsOf(readFileSync(new URL(file, dir), "utf8"), file).map(id),
  );
}

const id = (o: Obj) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

async function kubectl(): Promise<string | undefined> {
  try {
    await exec("kubectl", ["version", "--client"], { timeout: 10_000 });
    return "kubectl";
  } catch {
    return undefined;
  }
}

describe("manifests/kubernetes/kustomization.yaml", () => {
  it("lists every manifest of its folder and the CRDs' base, and each exists", () => {
    const k = kustomization(DIR);
    expect(k).toMatchObject({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" });
    for (const resource of k.resources) {
      const stat = statSync(new URL(resource, DIR), { throwIfNoEntry: false });
      expect(stat, `${resource} listed in manifests/kubernetes/kustomization.yaml`).toBeDefined();
      if (stat?.isDirectory())
        expect(statSync(new URL(`${resource}/kustomization.yaml`, DIR)).isFile()).toBe(true);
    }
    const files = k.resources.filter((r) => !r.includes("/"));
    expect([...files].sort()).toEqual(manifestFiles(DIR));
    expect(k.resources).toContain("../../crds");
  });

  it("crds/kustomization.yaml lists every CRD of the folder, one per kind", () => {
    const k = kustomization(CRDS);
    expect([...k.resources].sort()).toEqual(manifestFiles(CRDS));
    expect([...k.resources].sort()).toEqual(KINDS.map((kind) => kindInfo(kind).crdFile).sort());
  });

  it("renders with `kubectl kustomize`: the objects of every file, 2 replicas, --leader-elect", async (ctx) => {
    const bin = await kubectl();
    if (!bin) {
      ctx.skip("kubectl is not installed: the parse-and-check tests above cover the kustomization");
      return;
    }
    const { stdout } = await exec(bin, ["kustomize", DIR.pathname], { timeout: 30_000 });
    const rendered = objectsOf(stdout, "kubectl kustomize output");
    expect(rendered.map(id).sort()).toEqual([...idsOf(DIR), ...idsOf(CRDS)].sort());
    const deployment = rendered.find((o) => o.kind === "Deployment") as Obj & {
      spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } };
    };
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0]?.args).toContain("--leader-elect");
    expect(rendered.filter((o) => o.kind === "CustomResourceDefinition")).toHaveLength(KINDS.length);
  });
});
