// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows:
// command/agent/consul/service_client.go (service IDs, external-source meta).
// Like a Nomad client with `provider = "consul"`: each running allocation's declared services are
// registered in Consul (ID `_nomad-task-<alloc>-<task>-<service>-<port>`, meta external-source=nomad)
// and deregistered when it stops. Through a hook (an in-process Consul double) or by HTTP to any
// Consul-compatible agent endpoint. Node built-ins only.
import type { NomadAllocation, NomadJob, NomadService } from "../../../src/clients/nomad/types.ts";

/** The Consul agent-service body (PUT /v1/agent/service/register). */
export interface ConsulRegistration {
  ID: string;
  Name: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  Checks: { Name: string; HTTP?: string; TCP?: string; Interval: string; Timeout: string }[];
}

export type ServicesHook = (op: "register" | "deregister", registrations: ConsulRegistration[]) => unknown;

export interface ServiceRegistrarOptions {
  onServices?: ServicesHook;
  /** Base URL of a Consul agent (http://host:8500). */
  consul?: string;
  consulToken?: string;
  /** The client node's address (address_mode host). */
  hostAddress?: string;
}

export class ServiceRegistrar {
  readonly #options: ServiceRegistrarOptions;
  /** Services currently registered, by allocation. */
  readonly registered = new Map<string, ConsulRegistration[]>();
  readonly errors: string[] = [];
  #ip = 2;

  constructor(options: ServiceRegistrarOptions = {}) {
    this.#options = options;
  }

  async register(alloc: NomadAllocation, job: NomadJob | undefined): Promise<void> {
    if (!job || this.registered.has(alloc.ID)) return;
    const regs = registrations(
      alloc,
      job,
      this.#options.hostAddress ?? "127.0.0.1",
      `10.99.0.${this.#ip++ % 250}`,
    );
    if (regs.length === 0) return;
    this.registered.set(alloc.ID, regs);
    await this.#send("register", regs);
  }

  async deregister(alloc: NomadAllocation, _job: NomadJob | undefined): Promise<void> {
    const regs = this.registered.get(alloc.ID);
    if (!regs) return;
    this.registered.delete(alloc.ID);
    await this.#send("deregister", regs);
  }

  async #send(op: "register" | "deregister", regs: ConsulRegistration[]): Promise<void> {
    try {
      await this.#options.onServices?.(op, regs);
      const base = this.#options.consul?.replace(/\/+$/, "");
      if (!base) return;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (this.#options.consulToken) headers["x-consul-token"] = this.#options.consulToken;
      for (const reg of regs) {
        const url =
          op === "register"
            ? `${base}/v1/agent/service/register`
            : `${base}/v1/agent/service/deregister/${encodeURIComponent(reg.ID)}`;
        const response = await fetch(url, {
          method: "PUT",
          headers,
          ...(op === "register" ? { body: JSON.stringify(reg) } : {}),
          signal: AbortSignal.timeout(5_000),
        });
        if (!response.ok && !(op === "deregister" && response.status === 404)) {
          this.errors.push(`${op} ${reg.ID}: ${response.status} ${await response.text()}`);
        }
      }
    } catch (error) {
      this.errors.push(`${op}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** What Nomad registers for one allocation: group services, then task services. */
export function registrations(
  alloc: NomadAllocation,
  job: NomadJob,
  hostAddress: string,
  driverAddress: string,
): ConsulRegistration[] {
  const group = job.TaskGroups.find((g) => g.Name === alloc.TaskGroup);
  if (!group) return [];
  const ports = new Map<string, { value: number; to: number }>();
  let dynamic = 20000 + (Number(/\[(\d+)\]$/.exec(alloc.Name)?.[1] ?? 0) % 1000) * 10;
  for (const network of group.Networks ?? []) {
    for (const p of network.ReservedPorts ?? [])
      ports.set(p.Label, { value: p.Value ?? 0, to: p.To || p.Value || 0 });
    for (const p of network.DynamicPorts ?? []) {
      const value = dynamic++;
      ports.set(p.Label, { value, to: p.To && p.To > 0 ? p.To : value });
    }
  }
  const services: { service: NomadService; task: string }[] = [
    ...(group.Services ?? []).map((service) => ({ service, task: group.Tasks[0]?.Name ?? "group" })),
    ...group.Tasks.flatMap((t) => (t.Services ?? []).map((service) => ({ service, task: t.Name }))),
  ];
  return services
    .filter(({ service }) => (service.Provider || "consul") === "consul")
    .map(({ service, task }) => {
      const port = ports.get(service.PortLabel) ?? { value: Number(service.PortLabel) || 0, to: 0 };
      const driver = service.AddressMode === "driver";
      const address = driver ? driverAddress : hostAddress;
      const portNumber = driver ? port.to : port.value;
      return {
        ID: `_nomad-task-${alloc.ID}-${task}-${service.Name}-${service.PortLabel}`,
        Name: service.Name,
        Tags: service.Tags ?? [],
        Address: address,
        Port: portNumber,
        Meta: { ...(service.Meta ?? {}), "external-source": "nomad" },
        Checks: (service.Checks ?? []).map((check) => {
          const checkDriver = (check.AddressMode || service.AddressMode) === "driver";
          const checkAddress = checkDriver ? driverAddress : hostAddress;
          const checkPort = checkDriver ? port.to : port.value;
          return {
            Name: check.Name || `service: "${service.Name}" check`,
            ...(check.Type === "http"
              ? { HTTP: `http://${checkAddress}:${checkPort}${check.Path ?? "/"}` }
              : { TCP: `${checkAddress}:${checkPort}` }),
            Interval: `${Math.round(check.Interval / 1e9)}s`,
            Timeout: `${Math.round(check.Timeout / 1e9)}s`,
          };
        }),
      };
    });
}
