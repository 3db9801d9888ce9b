// The stack reconciler's door to Docker: a few methods over plain data (model.ts), implemented on
// the shared Docker connection (src/clients/docker). Tests wrap it to count writes.
import type { ContainerCreateOptions } from "dockerode";
import { type DockerConnection, isReason } from "../clients/docker/index.ts";
import {
  type ContainerState,
  type DesiredContainer,
  type DesiredNetwork,
  type DesiredVolume,
  type Health,
  LABELS,
  type ObservedContainer,
  type ObservedNetwork,
  type ObservedVolume,
} from "./model.ts";

export interface OwnedObjects {
  readonly containers: readonly string[];
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
}

export interface StackDocker {
  /** dockerd's root directory (for Nomad's data directory at its host path). */
  dockerRootDir(): Promise<string>;
  inspectNetwork(name: string): Promise<ObservedNetwork | undefined>;
  /** `network`: the stack network whose IP is reported. */
  inspectContainer(name: string, network: string): Promise<ObservedContainer | undefined>;
  inspectVolume(name: string): Promise<ObservedVolume | undefined>;
  /** Tries one pull within `timeoutMs`; false when the image cannot be had. */
  pullImage(image: string, timeoutMs: number): Promise<boolean>;
  createNetwork(network: DesiredNetwork): Promise<void>;
  removeNetwork(id: string): Promise<void>;
  createVolume(volume: DesiredVolume): Promise<void>;
  removeVolume(name: string): Promise<void>;
  createContainer(container: DesiredContainer, network: string): Promise<string>;
  /** Extracts a tar archive at `/` in the container (created or running). */
  copyArchive(id: string, archive: Buffer): Promise<void>;
  startContainer(id: string): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** Everything carrying `ownerId` and the stack key, whatever its name. */
  listOwned(ownerId: string, key: string): Promise<OwnedObjects>;
}

const ms = (value: number) => value * 1_000_000;

async function orUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (isReason(error, "NotFound")) return undefined;
    throw error;
  }
}

export function containerCreateOptions(c: DesiredContainer, network: string): ContainerCreateOptions {
  const port = `${c.port}/tcp`;
  return {
    name: c.name,
    Image: c.image,
    ...(c.cmd.length > 0 ? { Cmd: [...c.cmd] } : {}),
    Env: [...c.env],
    User: c.user,
    Labels: { ...c.labels },
    ExposedPorts: { [port]: {} },
    Healthcheck: {
      Test: [...c.health.test],
      Interval: ms(c.health.intervalMs),
      Timeout: ms(c.health.timeoutMs),
      Retries: c.health.retries,
      StartPeriod: ms(c.health.startPeriodMs),
    },
    HostConfig: {
      NetworkMode: network,
      PortBindings:
        c.hostPort === 0 ? {} : { [port]: [{ HostIp: "127.0.0.1", HostPort: String(c.hostPort) }] },
      Mounts: c.mounts.map((m) => ({
        Type: m.type,
        Source: m.source,
        Target: m.target,
        ReadOnly: m.readOnly ?? false,
      })),
      Privileged: c.privileged,
      ...(c.capAdd ? { CapAdd: [...c.capAdd] } : {}),
      ...(c.runtime ? { Runtime: c.runtime } : {}),
      ...(c.cgroupns ? { CgroupnsMode: c.cgroupns } : {}),
      RestartPolicy: { Name: "unless-stopped" },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: c.ip } } } },
  } as ContainerCreateOptions;
}

export function stackDocker(conn: DockerConnection): StackDocker {
  let rootDir: string | undefined;
  const api: StackDocker = {
    async dockerRootDir() {
      rootDir ??= (
        (await conn.call("/info", "reading engine info", (d) => d.info())) as { DockerRootDir: string }
      ).DockerRootDir;
      return rootDir;
    },
    async inspectNetwork(name) {
      const n = await orUndefined(
        conn.call("/networks/{id}", `inspecting network ${name}`, (d) => d.getNetwork(name).inspect()),
      );
      if (n === undefined || n.Name !== name) return undefined;
      return {
        id: n.Id,
        name: n.Name,
        subnet: n.IPAM?.Config?.[0]?.Subnet,
        labels: n.Labels ?? {},
        containers: Object.keys(n.Containers ?? {}),
      };
    },
    async inspectContainer(name, network) {
      const c = await orUndefined(
        conn.call("/containers/{id}/json", `inspecting container ${name}`, (d) =>
          d.getContainer(name).inspect(),
        ),
      );
      if (c === undefined) return undefined;
      const health = (c.State.Health?.Status ?? "none") as Health;
      return {
        id: c.Id,
        name: c.Name.replace(/^\//, ""),
        image: c.Config.Image,
        labels: c.Config.Labels ?? {},
        state: c.State.Status as ContainerState,
        health,
        ip: c.NetworkSettings.Networks?.[network]?.IPAddress || undefined,
        exitCode: c.State.ExitCode,
      };
    },
    async inspectVolume(name) {
      const v = await orUndefined(
        conn.call("/volumes/{name}", `inspecting volume ${name}`, (d) => d.getVolume(name).inspect()),
      );
      return v === undefined ? undefined : { name: v.Name, labels: v.Labels ?? {} };
    },
    async pullImage(image, timeoutMs) {
      const abort = AbortSignal.timeout(timeoutMs);
      try {
        await conn.call("/images/create", `pulling image ${image}`, async (d) => {
          const stream = (await d.pull(image, { abortSignal: abort })) as NodeJS.ReadableStream;
          await new Promise<void>((resolve, reject) => {
            d.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()));
          });
        });
        return true;
      } catch {
        return false;
      }
    },
    async createNetwork(n) {
      try {
        await conn.call("/networks/create", `creating network ${n.name}`, (d) =>
          d.createNetwork({
            Name: n.name,
            Driver: "bridge",
            CheckDuplicate: true,
            Labels: { ...n.labels },
            IPAM: {
              Driver: "default",
              Config: [
                { Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange ? { IPRange: n.ipRange } : {}) },
              ],
            },
          }),
        );
      } catch (error) {
        // The name is taken (409 from the daemon, 403 from libnetwork when two creates race): if the
        // network there is this stack's own (a crash after creating it, another replica), it exists.
        if (!isReason(error, "NameConflict")) throw error;
        const there = await api.inspectNetwork(n.name);
        const ours = [LABELS.ownerId, LABELS.key].every((label) => there?.labels[label] === n.labels[label]);
        if (!there || !ours) throw error;
      }
    },
    async removeNetwork(id) {
      await conn.call("/networks/{id}", `removing network ${id}`, (d) => d.getNetwork(id).remove());
    },
    async createVolume(v) {
      await conn.call("/volumes/create", `creating volume ${v.name}`, (d) =>
        d.createVolume({ Name: v.name, Labels: { ...v.labels } }),
      );
    },
    async removeVolume(name) {
      await conn.call("/volumes/{name}", `removing volume ${name}`, (d) => d.getVolume(name).remove());
    },
    async createContainer(c, network) {
      const created = await conn.call("/containers/create", `creating container ${c.name}`, (d) =>
        d.createContainer(containerCreateOptions(c, network)),
      );
      return created.id;
    },
    async copyArchive(id, archive) {
      await conn.call("/containers/{id}/archive", `copying configuration into container ${id}`, (d) =>
        d.getContainer(id).putArchive(archive, { path: "/" }),
      );
    },
    async startContainer(id) {
      try {
        await conn.call("/containers/{id}/start", `starting container ${id}`, (d) =>
          d.getContainer(id).start(),
        );
      } catch (error) {
        // 304: already started (a race with Docker's restart policy) is success.
        if ((error as { statusCode?: number }).statusCode === 304) return;
        throw error;
      }
    },
    async removeContainer(id) {
      try {
        await conn.call("/containers/{id}", `removing container ${id}`, (d) =>
          d.getContainer(id).remove({ force: true, v: false }),
        );
      } catch (error) {
        if (!isReason(error, "NotFound")) throw error;
      }
    },
    async listOwned(ownerId, key) {
      const label = [`${LABELS.ownerId}=${ownerId}`, `${LABELS.stack}=${key}`];
      const [containers, networks, volumes] = await Promise.all([
        conn.call("/containers/json", `listing containers of ${key}`, (d) =>
          d.listContainers({ all: true, filters: { label } }),
        ),
        conn.call("/networks", `listing networks of ${key}`, (d) => d.listNetworks({ filters: { label } })),
        conn.call("/volumes", `listing volumes of ${key}`, (d) => d.listVolumes({ filters: { label } })),
      ]);
      return {
        containers: containers.map((c) => c.Id),
        networks: networks.map((n) => n.Id),
        volumes: (volumes.Volumes ?? []).map((v) => v.Name),
      };
    },
  };
  return api;
}
