// The container operations the Docker scheduler is made of, each one Docker call through the
// connection (typed errors, metrics) with its idempotent outcomes accepted: removing a container
// already gone, starting one already running, stopping one already stopped.
import type { ContainerInfo, ContainerInspectInfo } from "dockerode";
import type { Logger } from "pino";
import { OperatorError } from "../../api/errors.ts";
import type { DockerConnection } from "../../clients/docker/connect.ts";
import { isReason, statusOf } from "../../clients/docker/errors.ts";
import { LABEL, labelFilter, MANAGED_BY } from "../../clients/docker/labels.ts";
import type { InspectedContainer } from "./observe.ts";
import type { RestartPolicy } from "./render.ts";

export const nameOf = (c: { Name: string }): string => c.Name.replace(/^\//, "");
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class DockerContainers {
  readonly #conn: DockerConnection;
  readonly #log: Logger | undefined;

  constructor(conn: DockerConnection, log?: Logger) {
    this.#conn = conn;
    this.#log = log;
  }

  /** The operator's containers (managed-by) matching every label filter. */
  list(labels: readonly string[], what: string): Promise<ContainerInfo[]> {
    return this.#conn.call("/containers/json", what, (d) =>
      d.listContainers({
        all: true,
        filters: { label: [labelFilter(LABEL.managedBy, MANAGED_BY), ...labels] },
      }),
    );
  }

  async inspect(idOrName: string): Promise<InspectedContainer | undefined> {
    try {
      const info: ContainerInspectInfo = await this.#conn.call(
        "/containers/:id/json",
        `inspecting container ${idOrName}`,
        (d) => d.getContainer(idOrName).inspect(),
      );
      return info as unknown as InspectedContainer;
    } catch (error) {
      if (isReason(error, "NotFound")) return undefined;
      throw error;
    }
  }

  async inspectAll(labels: readonly string[], what: string): Promise<InspectedContainer[]> {
    const list = await this.list(labels, what);
    const inspected = await Promise.all(list.map((c) => this.inspect(c.Id)));
    return inspected.filter((c): c is InspectedContainer => c !== undefined);
  }

  async create(name: string, body: object, image: string | undefined): Promise<string> {
    const created = await this.#conn.call(
      "/containers/create",
      `creating container ${name} (image ${image})`,
      (d) => d.createContainer({ ...body, name }),
    );
    return created.id;
  }

  /** A failed start leaves the container `created` with State.Error, which observe() reports. */
  async start(id: string, name: string): Promise<void> {
    try {
      await this.#conn.call("/containers/:id/start", `starting container ${name}`, (d) =>
        d.getContainer(id).start(),
      );
    } catch (error) {
      const status = statusOf(error);
      if (status === 304) return; // already running
      if (status === 400 || status === 500) {
        this.#log?.warn({ container: name, err: messageOf(error) }, "container did not start");
        return;
      }
      throw error;
    }
  }

  async stop(id: string, name: string, seconds: number): Promise<void> {
    try {
      await this.#conn.call("/containers/:id/stop", `stopping container ${name}`, (d) =>
        d.getContainer(id).stop({ t: seconds }),
      );
    } catch (error) {
      if (statusOf(error) !== 304 && !isReason(error, "NotFound")) throw error;
    }
  }

  async remove(id: string, name: string): Promise<void> {
    try {
      await this.#conn.call("/containers/:id", `removing container ${name.replace(/^\//, "")}`, (d) =>
        d.getContainer(id).remove({ force: true, v: true }),
      );
    } catch (error) {
      if (isReason(error, "NotFound")) return;
      if (statusOf(error) === 409 && /already in progress/i.test(messageOf(error))) return;
      throw error;
    }
  }

  async setRestartPolicy(c: InspectedContainer, policy: RestartPolicy): Promise<void> {
    await this.#conn.call(
      "/containers/:id/update",
      `setting the restart policy of container ${nameOf(c)}`,
      (d) => d.getContainer(c.Id).update({ RestartPolicy: policy }),
    );
  }

  async updateLimits(id: string, name: string, nanoCpus: number, memory: number): Promise<void> {
    await this.#conn.call("/containers/:id/update", `updating the limits of container ${name}`, (d) =>
      d.getContainer(id).update({ NanoCpus: nanoCpus, Memory: memory, MemorySwap: memory }),
    );
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure fails the whole. */
export async function each<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}

export function notOwned(c: InspectedContainer, ownerId: string): OperatorError {
  const owner = c.Config.Labels?.[LABEL.ownerId];
  const whose = owner ? `owner id ${owner}` : "no mlops owner label (made outside the operator)";
  return new OperatorError(
    "NotOwned",
    `container ${nameOf(c)} belongs to ${whose}, not to this operator (${ownerId}); it is left as it is`,
  );
}
