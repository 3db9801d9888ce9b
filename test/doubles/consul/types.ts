// Server: Consul 1.20.2, hashicorp/consul. Follows: api/agent.go, api/catalog.go, api/health.go.
// Wire shapes of the Consul agent, catalog and health APIs the double serves (PascalCase, as Consul
// encodes them). Node built-ins only: this folder runs inside a stand-in container image.

export type CheckStatus = "passing" | "warning" | "critical" | "maintenance";
export const CHECK_STATUSES: readonly CheckStatus[] = ["passing", "warning", "critical", "maintenance"];

/** A check in a registration body (`Check` or an item of `Checks`). Durations are Go strings ("10s"). */
export interface CheckDefinition {
  CheckID?: string;
  ID?: string;
  Name?: string;
  Notes?: string;
  Status?: string;
  HTTP?: string;
  Method?: string;
  Header?: Record<string, string[]>;
  Body?: string;
  TLSSkipVerify?: boolean;
  TCP?: string;
  TTL?: string;
  Interval?: string;
  Timeout?: string;
  DeregisterCriticalServiceAfter?: string;
  SuccessBeforePassing?: number;
  FailuresBeforeWarning?: number;
  FailuresBeforeCritical?: number;
}

/** Body of PUT /v1/agent/service/register. */
export interface ServiceRegistration {
  ID?: string;
  Name: string;
  Tags?: string[] | null;
  Address?: string;
  Port?: number;
  Meta?: Record<string, string> | null;
  EnableTagOverride?: boolean;
  Weights?: { Passing: number; Warning: number };
  Kind?: string;
  TaggedAddresses?: Record<string, { Address: string; Port: number }>;
  Check?: CheckDefinition | null;
  Checks?: CheckDefinition[] | null;
}

/** One value of GET /v1/agent/services (keyed by ID; the name is `Service`). */
export interface AgentService {
  ID: string;
  Service: string;
  Tags: string[];
  Meta: Record<string, string>;
  Port: number;
  Address: string;
  TaggedAddresses?: Record<string, { Address: string; Port: number }>;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  Datacenter: string;
}

/** An item of /v1/health/state/:state, /v1/health/checks/:service, and of Checks in /v1/health/service. */
export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  ExposedPort: number;
  Definition: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** An item of GET /v1/catalog/service/:name. */
export interface CatalogServiceEntry {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  NodeMeta: Record<string, string>;
  ServiceKind: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  ServiceAddress: string;
  ServiceWeights: { Passing: number; Warning: number };
  ServiceMeta: Record<string, string>;
  ServicePort: number;
  ServiceEnableTagOverride: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}
