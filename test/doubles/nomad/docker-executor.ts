// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: drivers/docker/driver.go,
// drivers/docker/coordinator.go.
// A Docker-backed executor for the Nomad double: each placed allocation's first task runs as a real
// container on the local engine (the socket the stand-in Nomad gets, as a real Nomad client would),
// with the docker driver's image, entrypoint, command, args, env and network_mode; its exit becomes
// the allocation's outcome (OOM from State.OOMKilled). As a Nomad client does, `entrypoint` replaces
// the image's entrypoint, `command` and `args` become the container's Cmd (drivers/docker/driver.go),
// and the task's env values are interpolated with the allocation's variables (${NOMAD_ALLOC_INDEX};
// client/taskenv/env.go: an unknown variable is left as written). Node built-ins only (it runs in the stand-in
// image): the Engine API over the unix socket. Containers carry mlops.dev/nomad-alloc=<alloc id>.
import { request } from "node:http";
import type { AllocHandle, Executor } from "./executor.ts";
import { templateEnv } from "./templates.ts";

export interface DockerExecutorOptions {
  /** Default /var/run/docker.sock. */
  socketPath?: string;
  /** Extra labels on every container (tests mark theirs). */
  labels?: Record<string, string>;
}

interface Answer {
  status: number;
  body: string;
  raw: Buffer;
}

/** Docker's multiplexed log stream (no TTY): 8-byte frame headers, then the payload. */
export function demuxLogs(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

export class DockerExecutor implements Executor {
  readonly #socket: string;
  readonly #labels: Record<string, string>;
  readonly #containers = new Map<string, string>();

  constructor(options: DockerExecutorOptions = {}) {
    this.#socket = options.socketPath ?? "/var/run/docker.sock";
    this.#labels = options.labels ?? {};
  }

  #call(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.#socket,
          method,
          path: `/v1.41${path}`,
          headers: payload
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {},
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const raw = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, body: raw.toString("utf8"), raw });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`docker ${method} ${path} timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  start(handle: AllocHandle): void {
    void this.#run(handle).catch((error: unknown) => {
      handle.driverFailure(`docker executor: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  async #run(handle: AllocHandle): Promise<void> {
    const group = handle.job?.TaskGroups.find((g) => g.Name === handle.alloc.TaskGroup);
    const task = group?.Tasks[0];
    if (task?.Driver !== "docker") throw new Error(`allocation ${handle.alloc.ID} has no docker task`);
    const config = task.Config as {
      image?: string;
      entrypoint?: string[];
      command?: string;
      args?: string[];
      network_mode?: string;
    };
    if (!config.image) throw new Error(`task ${task.Name} has no image`);
    const runtime: Record<string, string> = {
      NOMAD_ALLOC_ID: handle.alloc.ID,
      NOMAD_ALLOC_INDEX: /\[(\d+)\]$/.exec(handle.alloc.Name)?.[1] ?? "0",
      NOMAD_JOB_ID: handle.alloc.JobID,
      NOMAD_TASK_NAME: task.Name,
    };
    const env = {
      ...interpolated(task.Env ?? {}, runtime),
      ...templateEnv(task, (path) => handle.variable(path)),
      ...runtime,
    };
    const cmd = config.command ? [config.command, ...(config.args ?? [])] : config.args;
    const created = await this.#call(
      "POST",
      `/containers/create?name=nomad-${handle.alloc.ID}-${task.Name.replace(/[^a-zA-Z0-9_.-]/g, "-")}`,
      {
        Image: config.image,
        ...(config.entrypoint?.length ? { Entrypoint: config.entrypoint } : {}),
        ...(cmd?.length ? { Cmd: cmd } : {}),
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: { ...this.#labels, "mlops.dev/nomad-alloc": handle.alloc.ID },
        HostConfig: { ...(config.network_mode ? { NetworkMode: config.network_mode } : {}), Init: true },
      },
    );
    // The words of Nomad's docker driver: a missing image is a pull failure (coordinator.go), any other
    // create error (a missing network is also a 404) is "failed to create container" (driver.go).
    if (created.status === 404 && /No such image/i.test(created.body))
      throw new Error(`Failed to pull \`${config.image}\`: ${engineMessage(created.body)}`);
    if (created.status !== 201) throw new Error(`failed to create container: ${engineMessage(created.body)}`);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    this.#containers.set(handle.alloc.ID, id);
    const started = await this.#call("POST", `/containers/${id}/start`);
    if (started.status !== 204 && started.status !== 304) throw new Error(`starting: ${started.body.trim()}`);
    handle.running();
    const waited = await this.#call("POST", `/containers/${id}/wait`, undefined, 24 * 3600_000);
    if (!this.#containers.has(handle.alloc.ID)) return; // stopped by the double
    const exitCode = (JSON.parse(waited.body) as { StatusCode?: number }).StatusCode ?? 1;
    const inspect = await this.#call("GET", `/containers/${id}/json`);
    const oom = (JSON.parse(inspect.body) as { State?: { OOMKilled?: boolean } }).State?.OOMKilled === true;
    const logs = await this.#call("GET", `/containers/${id}/logs?stdout=1&stderr=1&tail=200`);
    handle.log(task.Name, demuxLogs(logs.raw));
    handle.exit({ exitCode, ...(oom ? { oom } : {}) });
    this.#containers.delete(handle.alloc.ID);
    await this.#call("DELETE", `/containers/${id}?force=1`);
  }

  stop(allocId: string): void {
    const id = this.#containers.get(allocId);
    this.#containers.delete(allocId);
    if (id) void this.#call("DELETE", `/containers/${id}?force=1`).catch(() => undefined);
  }

  async close(): Promise<void> {
    const ids = [...this.#containers.values()];
    this.#containers.clear();
    await Promise.all(
      ids.map((id) => this.#call("DELETE", `/containers/${id}?force=1`).catch(() => undefined)),
    );
  }
}

function engineMessage(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.trim();
  } catch {
    return body.trim();
  }
}

/** `${NAME}` in each value replaced by the allocation's variable of that name; unknown ones kept. */
export function interpolated(
  env: Readonly<Record<string, string>>,
  vars: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      v.replace(/\$\{([A-Za-z0-9_.]+)\}/g, (m, n: string) => vars[n] ?? m),
    ]),
  );
}
