// Server: Consul 1.20.2, hashicorp/consul. Follows: agent/consul/state/catalog.go,
// agent/consul/state/index.go.
// The Consul double's catalog: one agent node holding services and their checks, a Raft-like index
// that only grows (unless a snapshot restore is scripted), per-table indexes for blocking queries,
// and in-process hooks so the Nomad double can register and deregister job services directly.
import { EventEmitter } from "node:events";
import {
  type AgentService,
  type CatalogServiceEntry,
  CHECK_STATUSES,
  type CheckDefinition,
  type CheckStatus,
  type HealthCheck,
  type ServiceRegistration,
} from "./types.ts";

/** A rejected write, answered as plain text with this status (Consul's wording). */
export class ConsulDoubleError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface NodeInfo {
  name: string;
  address: string;
  datacenter: string;
}

interface StoredService {
  service: AgentService;
  createIndex: number;
  modifyIndex: number;
}

interface StoredCheck {
  check: HealthCheck;
  definition: CheckDefinition;
}

export type Table = "services" | "checks";

export class ConsulState {
  readonly node: NodeInfo;
  readonly #services = new Map<string, StoredService>();
  readonly #checks = new Map<string, StoredCheck>();
  readonly #events = new EventEmitter();
  #index = 1;
  readonly #tableIndex: Record<Table, number> = { services: 1, checks: 1 };

  constructor(node: Partial<NodeInfo> = {}) {
    this.node = { name: "consul-double", address: "127.0.0.1", datacenter: "dc1", ...node };
    this.#events.setMaxListeners(0);
    // The agent's own node check, present in every real catalog (ServiceID and ServiceTags empty).
    this.#checks.set("serfHealth", {
      definition: {},
      check: {
        Node: this.node.name,
        CheckID: "serfHealth",
        Name: "Serf Health Status",
        Status: "passing",
        Notes: "",
        Output: "Agent alive and reachable",
        ServiceID: "",
        ServiceName: "",
        ServiceTags: [],
        Type: "",
        Interval: "",
        Timeout: "",
        ExposedPort: 0,
        Definition: {},
        CreateIndex: 1,
        ModifyIndex: 1,
      },
    });
  }

  /** X-Consul-Index of a table (never below 1). */
  index(table: Table): number {
    return Math.max(1, this.#tableIndex[table]);
  }

  /** Resolves on the next change of `table` (or a scripted restore), or after `ms`. */
  waitForChange(table: Table, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#events.off(table, done);
        this.#events.off("abandon", done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#events.on(table, done);
      this.#events.on("abandon", done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  #bump(...tables: Table[]): number {
    this.#index++;
    for (const table of tables) this.#tableIndex[table] = this.#index;
    for (const table of tables) this.#events.emit(table);
    return this.#index;
  }

  /** PUT /v1/agent/service/register: creates or replaces the service and its checks. */
  registerService(body: ServiceRegistration): AgentService {
    if (typeof body?.Name !== "string" || body.Name === "") {
      throw new ConsulDoubleError(400, "Missing service name");
    }
    if (body.Address === "0.0.0.0" || body.Address === "::" || body.Address === "[::]") {
      throw new ConsulDoubleError(400, "Invalid service address");
    }
    const id = body.ID || body.Name;
    const definitions = [...(body.Check ? [body.Check] : []), ...(body.Checks ?? [])];
    for (const definition of definitions) validateCheck(definition);
    const previous = this.#services.get(id);
    const service: AgentService = {
      ID: id,
      Service: body.Name,
      Tags: body.Tags ?? [],
      Meta: body.Meta ?? {},
      Port: body.Port ?? 0,
      Address: body.Address ?? "",
      ...(body.TaggedAddresses ? { TaggedAddresses: body.TaggedAddresses } : {}),
      Weights: body.Weights ?? { Passing: 1, Warning: 1 },
      EnableTagOverride: body.EnableTagOverride ?? false,
      Datacenter: this.node.datacenter,
    };
    const oldChecks = [...this.#checks.values()].filter((c) => c.check.ServiceID === id);
    const index = this.#bump("services", "checks");
    this.#services.set(id, { service, createIndex: previous?.createIndex ?? index, modifyIndex: index });
    for (const old of oldChecks) this.#checks.delete(old.check.CheckID);
    definitions.forEach((definition, i) => {
      const checkId =
        definition.CheckID ||
        definition.ID ||
        (definitions.length === 1 ? `service:${id}` : `service:${id}:${i + 1}`);
      const kept = oldChecks.find((c) => c.check.CheckID === checkId);
      this.#checks.set(checkId, {
        definition,
        check: {
          Node: this.node.name,
          CheckID: checkId,
          Name: definition.Name || `Service '${body.Name}' check`,
          Status: kept?.check.Status ?? ((definition.Status as CheckStatus | undefined) || "critical"),
          Notes: definition.Notes ?? "",
          Output: kept?.check.Output ?? "",
          ServiceID: id,
          ServiceName: body.Name,
          ServiceTags: service.Tags,
          Type: checkType(definition),
          Interval: definition.Interval ?? "",
          Timeout: definition.Timeout ?? "",
          ExposedPort: 0,
          Definition: {},
          CreateIndex: kept?.check.CreateIndex ?? index,
          ModifyIndex: index,
        },
      });
    });
    return service;
  }

  /** PUT /v1/agent/service/deregister/:id; false (404 on the wire) for an unknown id. */
  deregisterService(id: string): boolean {
    if (!this.#services.has(id)) return false;
    this.#services.delete(id);
    for (const [checkId, stored] of this.#checks)
      if (stored.check.ServiceID === id) this.#checks.delete(checkId);
    this.#bump("services", "checks");
    return true;
  }

  /** Sets a check's status and output (scripted, a TTL update, or an HTTP check's result). */
  updateCheck(checkId: string, status: CheckStatus, output = ""): boolean {
    const stored = this.#checks.get(checkId);
    if (!stored) return false;
    if (stored.check.Status === status && stored.check.Output === output) return true;
    const index = this.#bump("checks");
    stored.check = { ...stored.check, Status: status, Output: output, ModifyIndex: index };
    return true;
  }

  /** Sets every check of a service (scripting shortcut). Returns the number of checks changed. */
  setServiceHealth(serviceId: string, status: CheckStatus, output = ""): number {
    let changed = 0;
    for (const stored of this.#checks.values()) {
      if (stored.check.ServiceID === serviceId && this.updateCheck(stored.check.CheckID, status, output))
        changed++;
    }
    return changed;
  }

  /** Scripts a snapshot restore: indexes go backwards and blocked queries return at once. */
  restoreSnapshot(index = 1): void {
    this.#index = index;
    this.#tableIndex.services = index;
    this.#tableIndex.checks = index;
    this.#events.emit("abandon");
  }

  services(): AgentService[] {
    return [...this.#services.values()].map((s) => s.service);
  }

  service(id: string): AgentService | undefined {
    return this.#services.get(id)?.service;
  }

  checks(): HealthCheck[] {
    return [...this.#checks.values()].map((c) => c.check);
  }

  checkDefinitions(): { check: HealthCheck; definition: CheckDefinition }[] {
    return [...this.#checks.values()].map((c) => ({ check: c.check, definition: c.definition }));
  }

  catalogEntries(name: string): CatalogServiceEntry[] {
    return [...this.#services.values()]
      .filter((s) => s.service.Service === name)
      .map(({ service, createIndex, modifyIndex }) => ({
        ID: "5d1b5c4e-0000-4000-8000-000000000001",
        Node: this.node.name,
        Address: this.node.address,
        Datacenter: this.node.datacenter,
        TaggedAddresses: { lan: this.node.address, wan: this.node.address },
        NodeMeta: { "consul-network-segment": "" },
        ServiceKind: "",
        ServiceID: service.ID,
        ServiceName: service.Service,
        ServiceTags: service.Tags,
        ServiceAddress: service.Address,
        ServiceWeights: service.Weights,
        ServiceMeta: service.Meta,
        ServicePort: service.Port,
        ServiceEnableTagOverride: service.EnableTagOverride,
        CreateIndex: createIndex,
        ModifyIndex: modifyIndex,
      }));
  }
}

function checkType(definition: CheckDefinition): string {
  if (definition.HTTP) return "http";
  if (definition.TCP) return "tcp";
  if (definition.TTL) return "ttl";
  return "";
}

/** Consul's checks on a check definition (agent/structs CheckType.Validate). */
function validateCheck(definition: CheckDefinition): void {
  if (definition.Status && !(CHECK_STATUSES as readonly string[]).includes(definition.Status)) {
    throw new ConsulDoubleError(400, "Status for checks must 'passing', 'warning', 'critical'");
  }
  const kinds = [definition.HTTP, definition.TCP, definition.TTL].filter(Boolean).length;
  if (kinds !== 1) {
    throw new ConsulDoubleError(
      400,
      "Invalid check: Must provide TTL or Script/DockerContainerID/HTTP/TCP and Interval",
    );
  }
  if ((definition.HTTP || definition.TCP) && !(parseDuration(definition.Interval ?? "") > 0)) {
    throw new ConsulDoubleError(
      400,
      "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or GRPC checks",
    );
  }
  for (const field of ["Interval", "Timeout", "TTL", "DeregisterCriticalServiceAfter"] as const) {
    const value = definition[field];
    if (value !== undefined && value !== "" && Number.isNaN(parseDuration(value))) {
      throw new ConsulDoubleError(400, `Request decode failed: time: invalid duration "${value}"`);
    }
  }
}

/** Go duration string ("10s", "1m30s", "250ms") to milliseconds; NaN when malformed. */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  let consumed = 0;
  for (let match = re.exec(text); match; match = re.exec(text)) {
    total += Number(match[1]) * (unit[match[2] as string] as number);
    consumed = re.lastIndex;
  }
  return consumed === text.length && text.length > 0 ? total : Number.NaN;
}
