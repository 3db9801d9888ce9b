// The stack reconciler against an in-memory Docker port: the exact calls it makes, in order, and the
// status it writes once per reconcile.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import type { MlopsStack, ResourceKey, TrainingJob } from "../../src/api/resources.ts";
import { DockerError, type DockerEventMessage } from "../../src/clients/docker/index.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import type { StackContext } from "../../src/stack/context.ts";
import type { StackDocker } from "../../src/stack/docker.ts";
import type { ObservedContainer } from "../../src/stack/model.ts";
import { StackReconciler } from "../../src/stack/reconciler.ts";
import { stateDirSecrets } from "../../src/stack/secrets.ts";
import { OWNER, stackOf } from "./fixtures.ts";

type Fail = Partial<Record<keyof StackDocker, Error>>;

function fakeDocker(fail: Fail = {}) {
  const calls: string[] = [];
  const containers = new Map<string, ObservedContainer>();
  let network: { id: string; labels: Record<string, string> } | undefined;
  const volumes = new Map<string, Record<string, string>>();
  let n = 0;
  const call = (name: keyof StackDocker, detail = "") => {
    calls.push(detail ? `${name} ${detail}` : name);
    const error = fail[name];
    if (error) throw error;
  };
  const docker: StackDocker = {
    dockerRootDir: async () => "/var/lib/docker",
    inspectNetwork: async (name) =>
      network && { id: network.id, name, subnet: "172.20.0.0/16", labels: network.labels, containers: [] },
    inspectContainer: async (name) => containers.get(name),
    inspectVolume: async (name) =>
      volumes.has(name) ? { name, labels: volumes.get(name) ?? {} } : undefined,
    pullImage: async (image) => {
      call("pullImage", image);
      return false;
    },
    createNetwork: async (net) => {
      call("createNetwork", net.name);
      network = { id: "net", labels: { ...net.labels } };
    },
    removeNetwork: async (id) => {
      call("removeNetwork", id);
      network = undefined;
    },
    createVolume: async (v) => {
      call("createVolume", v.component);
      volumes.set(v.name, { ...v.labels });
    },
    removeVolume: async (name) => {
      call("removeVolume", name);
      volumes.delete(name);
    },
    createContainer: async (c) => {
      call("createContainer", c.component);
      const id = `c${++n}`;
      containers.set(c.name, {
        id,
        name: c.name,
        image: c.image,
        labels: { ...c.labels },
        state: "created",
        health: "none",
        ip: undefined,
      });
      return id;
    },
    copyArchive: async (id) => call("copyArchive", id),
    startContainer: async (id) => {
      call("startContainer", id);
      for (const [name, c] of containers) {
        if (c.id === id) containers.set(name, { ...c, state: "running", health: "starting", ip: ipOf(name) });
      }
    },
    removeContainer: async (id) => {
      call("removeContainer", id);
      for (const [name, c] of containers) if (c.id === id) containers.delete(name);
    },
    listOwned: async () => ({
      containers: [...containers.values()].map((c) => c.id),
      networks: network ? [network.id] : [],
      volumes: [...volumes.keys()],
    }),
  };
  const healthy = () => {
    for (const [name, c] of containers)
      if (c.state === "running") containers.set(name, { ...c, health: "healthy" });
  };
  return { docker, calls, containers, healthy, volumes };
}

const ipOf = (name: string) =>
  ({ consul: "172.20.0.10", nomad: "172.20.0.20", prometheus: "172.20.0.30", grafana: "172.20.0.40" })[
    name.split(".").at(-1) as "consul"
  ];

function context(docker: StackDocker, jobs: TrainingJob[] = []) {
  const written: unknown[] = [];
  const ctx: StackContext = {
    status: { write: async (_r, s) => void written.push(s) },
    recorder: { event: () => undefined },
    clock: { now: () => new Date("2026-01-01T00:00:00Z") },
    log: silentLogger(),
    resources: { get: () => undefined, list: (kind) => (kind === "TrainingJob" ? jobs : []) },
    docker,
    secrets: stateDirSecrets(mkdtempSync(join(tmpdir(), "mlops-stack-unit-"))),
    assets: { dashboards: {} },
    ownerId: OWNER,
    operatorPort: 9464,
  };
  return { ctx, written };
}

function reconcilerWith(events?: Subject<DockerEventMessage>) {
  return new StackReconciler(events ? { events, ownerId: OWNER } : undefined);
}

const withStatus = (stack: MlopsStack, written: unknown[]) => ({ ...stack, status: written.at(-1) as never });
const reason = (written: unknown[], type: string) =>
  (written.at(-1) as { conditions: { type: string; reason: string }[] }).conditions.find(
    (c) => c.type === type,
  )?.reason;

describe("stack reconciler", () => {
  it("starts an empty engine tier by tier, one status write per reconcile, then writes nothing", async () => {
    const world = fakeDocker();
    const r = reconcilerWith();
    const { ctx, written } = context(world.docker);
    const stack = stackOf();
    expect(await r.reconcile(stack, ctx)).toEqual({ requeueAfterMs: 1000 });
    expect(world.calls).toEqual([
      "createNetwork mlops-network",
      "createVolume consul",
      "createVolume nomad",
      "createVolume prometheus",
      "createVolume grafana",
      "createContainer consul",
      "copyArchive c1",
      "startContainer c1",
    ]);
    expect(written).toHaveLength(1);
    world.healthy();
    world.calls.length = 0;
    await r.reconcile(withStatus(stack, written), ctx);
    expect(world.calls).toEqual(["createContainer nomad", "copyArchive c2", "startContainer c2"]);
    world.healthy();
    world.calls.length = 0;
    await r.reconcile(withStatus(stack, written), ctx);
    expect(world.calls).toEqual([
      "createContainer prometheus",
      "copyArchive c3",
      "startContainer c3",
      "createContainer grafana",
      "copyArchive c4",
      "startContainer c4",
    ]);
    world.healthy();
    world.calls.length = 0;
    expect(await r.reconcile(withStatus(stack, written), ctx)).toEqual({ awaitChange: true });
    expect(reason(written, "Ready")).toBe("Ready");
    expect(await r.reconcile(withStatus(stack, written), ctx)).toEqual({ awaitChange: true });
    expect(world.calls).toEqual([]);
    expect(written).toHaveLength(5);
  });

  it("tries one pull of a missing image, then reports ImageNotFound", async () => {
    const world = fakeDocker({ createContainer: new DockerError("ImageNotFound", "No such image: x", 404) });
    const { ctx, written } = context(world.docker);
    expect(await reconcilerWith().reconcile(stackOf(), ctx)).toEqual({ requeueAfterMs: 10_000 });
    expect(world.calls.slice(-2)).toEqual(["createContainer consul", "pullImage hashicorp/consul:1.20.2"]);
    expect(reason(written, "Degraded")).toBe("ImageNotFound");
  });

  it.each([
    ["Bind for 127.0.0.1:8500 failed: port is already allocated", "PortInUse"],
    ["Address already in use", "IPInUse"],
    [
      "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown",
      "PrivilegedRefused",
    ],
  ])("maps a start failure %j to %s", async (message, expected) => {
    const world = fakeDocker({ startContainer: new DockerError("DockerError", message, 500) });
    const { ctx, written } = context(world.docker);
    await reconcilerWith().reconcile(stackOf(), ctx);
    expect(reason(written, "Degraded")).toBe(expected);
    expect(reason(written, "Ready")).toBe(expected);
  });

  it("throws when Docker is unreachable (the queue backs off) and writes no status", async () => {
    const world = fakeDocker({
      createNetwork: new DockerError("DockerUnavailable", "connect ENOENT", undefined),
    });
    const { ctx, written } = context(world.docker);
    await expect(reconcilerWith().reconcile(stackOf(), ctx)).rejects.toMatchObject({
      reason: "DockerUnavailable",
    });
    expect(written).toEqual([]);
  });

  it("finalize waits for TrainingJobs naming the stack, then removes containers and network, keeping volumes", async () => {
    const world = fakeDocker();
    const r = reconcilerWith();
    const stack = stackOf();
    await r.reconcile(stack, context(world.docker).ctx);
    const job = {
      kind: "TrainingJob",
      metadata: { name: "mnist", namespace: "default" },
      spec: { stackRef: "platform" },
    } as TrainingJob;
    const waiting = context(world.docker, [job]);
    expect(await r.finalize("MlopsStack/default/platform", stack, waiting.ctx)).toEqual({
      requeueAfterMs: 2000,
    });
    expect(reason(waiting.written, "Ready")).toBe("DependentsExist");
    world.calls.length = 0;
    expect(await r.finalize("MlopsStack/default/platform", stack, context(world.docker).ctx)).toBe("done");
    expect(world.calls).toEqual(["removeContainer c1", "removeNetwork net"]);
    expect(world.volumes.size).toBe(4);
  });

  it("finalize removes the volumes too with retainVolumes: false", async () => {
    const world = fakeDocker();
    const r = reconcilerWith();
    const stack = stackOf({ retainVolumes: false });
    await r.reconcile(stack, context(world.docker).ctx);
    await r.finalize("MlopsStack/default/platform", stack, context(world.docker).ctx);
    expect(world.volumes.size).toBe(0);
  });

  it("changes() subscribes to the Docker events only from the first reconcile on", async () => {
    const events = new Subject<DockerEventMessage>();
    const r = reconcilerWith(events);
    const keys: ResourceKey[] = [];
    const sub = r.changes().subscribe((k) => keys.push(k));
    expect(events.observed).toBe(false);
    await r.reconcile(stackOf(), context(fakeDocker().docker).ctx);
    expect(events.observed).toBe(true);
    events.next({ type: "resync", cause: "connect" });
    sub.unsubscribe();
    expect(events.observed).toBe(false);
    expect(keys).toEqual(["MlopsStack/default/platform"]);
  });

  it("changes(): drift events of owned stack containers become the stack's key; resync re-lists known stacks", async () => {
    const events = new Subject<DockerEventMessage>();
    const world = fakeDocker();
    const r = reconcilerWith(events);
    await r.reconcile(stackOf(), context(world.docker).ctx);
    const keys: ResourceKey[] = [];
    const sub = r.changes().subscribe((k) => keys.push(k));
    const event = (Action: string, owner = OWNER) =>
      events.next({
        type: "event",
        event: {
          Type: "container",
          Action,
          Actor: {
            ID: "c1",
            Attributes: { "mlops.dev/owner-id": owner, "mlops.dev/stack": "MlopsStack/default/platform" },
          },
          time: 0,
          timeNano: 0,
        },
      });
    event("destroy");
    event("exec_start: wget -q -O /dev/null http://127.0.0.1:8500/v1/status/leader");
    event("health_status: unhealthy");
    event("die", "other-owner");
    events.next({ type: "resync", cause: "reconnect" });
    sub.unsubscribe();
    expect(keys).toEqual([
      "MlopsStack/default/platform",
      "MlopsStack/default/platform",
      "MlopsStack/default/platform",
    ]);
  });
});
