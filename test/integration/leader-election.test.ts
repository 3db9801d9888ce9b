import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/index.ts";
import { KubernetesDouble, trainingJob, writeKubeconfig } from "../doubles/kubernetes/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { LEASE_MS, leads, type Replica, startReplica } from "./replica.ts";

const owner = `it-leader-${process.pid}`;
const KEY = `mlops-operator/leader/${owner}`;
let consul: ConsulDouble;
let nomad: NomadDouble;
let dir = "";

const JOB = `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: bert }
spec:
  image: registry.example/bert:1
  resources: { cpu: 500, memoryMB: 256 }
`;

function replica(name: string, source: string[] = ["--dir", dir, "--owner-id", owner]): Replica {
  return startReplica({
    source,
    stateDir: `${dir}-state-${name}`,
    nomadAddr: nomad.address,
    consulUrl: consul.url,
    xdgStateHome: `${dir}-xdg`,
  });
}

async function until(what: string, fn: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const registrations = () =>
  nomad.requests
    .filter((r) => r.method === "PUT" || r.method === "POST")
    .filter((r) => /^\/v1\/jobs?\b/.test(r.path) && !r.path.includes("plan")).length;

async function text(url: string): Promise<string> {
  return (await fetch(url)).text();
}

beforeAll(async () => {
  consul = await startConsulDouble({ sessionTtlMinMs: 100 });
  nomad = await startNomadDouble({ consul: consul.url, heartbeatMs: 200 });
  dir = await mkdtemp(join(tmpdir(), "mlops-leader-"));
  await writeFile(join(dir, "bert.yaml"), JOB);
});

afterAll(async () => {
  await nomad?.close();
  await consul?.close();
  for (const name of ["state-a", "state-b", "state-k1", "state-k2", "xdg"])
    await rm(`${dir}-${name}`, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

describe("run --leader-elect on the directory source (a Consul session lock)", () => {
  it("one replica reconciles; the other takes over a killed leader within the lease + 2 s, registering nothing twice", async () => {
    const a = replica("a");
    const b = replica("b");
    try {
      await until("a leader", () => leads(a) || leads(b), 20_000);
      const [leader, follower] = leads(a) ? [a, b] : [b, a];
      await until("the job registered", () => registrations() > 0, 10_000);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(leads(follower)).toBe(false);
      expect(registrations()).toBe(1);
      // The follower is ready (it could take over) and says it does not lead.
      await until("the follower's address", () => follower.metrics !== undefined, 5_000);
      expect((await fetch(`${follower.metrics}/readyz`)).status).toBe(200);
      expect(await text(`${follower.metrics}/metrics`)).toMatch(
        /leader_election_master_status\{name="[^"]+"\} 0/,
      );
      expect(await text(`${leader.metrics}/metrics`)).toMatch(
        /leader_election_master_status\{name="[^"]+"\} 1/,
      );
      // The resources' metrics come from the leader alone: a sum over replicas counts each once.
      const bert = /mlops_resource_info\{kind="TrainingJob",namespace="default",name="bert"/;
      expect(await text(`${leader.metrics}/metrics`)).toMatch(bert);
      expect(await text(`${follower.metrics}/metrics`)).not.toMatch(/^mlops_resource_info\{/m);
      expect(consul.sessions.get(KEY)?.Session).toBeDefined();

      leader.child.kill("SIGKILL");
      const tookOver = await until("the follower to lead", () => leads(follower), LEASE_MS + 5_000);
      expect(tookOver).toBeLessThan(LEASE_MS + 2_000);
      // The new leader adopts the job it finds registered: no second registration.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(registrations()).toBe(1);
      expect(await text(`${follower.metrics}/metrics`)).toMatch(bert);

      // Cut off from Consul, the leader stops reconciling and exits 1 by its renew deadline
      // (1.5 s after its last renewal, at most one retry period before the cut-off).
      const exited = new Promise<number | null>((resolve) => follower.child.once("exit", resolve));
      await consul.setOutage("stall");
      const cutOff = Date.now();
      await until("leadership lost", () => follower.output.includes("leadership lost"), 5_000);
      const writes = nomad.writes;
      const lostAt = Number(/"time":(\d+)[^\n]*leadership lost/.exec(follower.output)?.[1]);
      expect(lostAt - cutOff).toBeLessThan(1_500 + 500);
      expect(await exited).toBe(1);
      expect(nomad.writes).toBe(writes); // nothing written after leadership ended
      await consul.setOutage("none");
    } finally {
      a.child.kill("SIGKILL");
      b.child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("run --leader-elect on the Kubernetes source (a Lease)", () => {
  it("one replica reconciles; the other takes over a killed leader within the lease + 2 s", async () => {
    const kube = new KubernetesDouble();
    await kube.start();
    const before = registrations();
    kube.create(trainingJob("gpt", "default", { resources: { cpu: 500, memoryMB: 256 } }));
    const kubeconfig = writeKubeconfig(`${dir}-xdg-kubeconfig`, kube.url);
    const source = [
      "--source",
      "kubernetes",
      "--kubeconfig",
      kubeconfig,
      "--leader-election-namespace",
      "mlops-system",
    ];
    const a = replica("k1", source);
    const b = replica("k2", source);
    try {
      await until("a leader", () => leads(a) || leads(b), 20_000);
      const [leader, follower] = leads(a) ? [a, b] : [b, a];
      await until("the job registered", () => registrations() > before, 10_000);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(leads(follower)).toBe(false);
      expect(registrations() - before).toBe(1);
      const id = /"ownerId":"([0-9a-f]+)"/.exec(leader.output)?.[1];
      expect(kube.leases.get("mlops-system", `mlops-operator-${id}`)?.spec.holderIdentity).toMatch(/_/);

      leader.child.kill("SIGKILL");
      const tookOver = await until("the follower to lead", () => leads(follower), LEASE_MS + 5_000);
      expect(tookOver).toBeLessThan(LEASE_MS + 2_000);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(registrations() - before).toBe(1);
    } finally {
      a.child.kill("SIGKILL");
      b.child.kill("SIGKILL");
      await kube.close();
      rmSync(`${dir}-xdg-kubeconfig`, { force: true });
    }
  }, 60_000);
});
