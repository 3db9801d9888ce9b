// Consul's wire shapes the operator reads (only the fields it uses are typed; Consul sends more).
/** A Consul check's status (api/health.go: HealthPassing, HealthWarning, HealthCritical, HealthMaint). */
export type CheckStatus = "passing" | "warning" | "critical" | "maintenance";

export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[] | null;
}

export interface AgentService {
  ID: string;
  /** The service name (not `Name`, unlike the registration body). */
  Service: string;
  Tags: string[] | null;
  Meta: Record<string, string> | null;
  Address: string;
  Port: number;
}

export interface CatalogServiceEntry {
  Node: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[] | null;
  ServiceMeta: Record<string, string> | null;
  ServiceAddress: string;
  ServicePort: number;
}

/** Body of PUT /v1/agent/service/register (durations as Go strings: "10s"). */
export interface ServiceRegistration {
  ID?: string;
  Name: string;
  Tags?: string[];
  Address?: string;
  Port?: number;
  Meta?: Record<string, string>;
  Check?: {
    CheckID?: string;
    Name?: string;
    HTTP?: string;
    TTL?: string;
    Interval?: string;
    Timeout?: string;
    DeregisterCriticalServiceAfter?: string;
    Status?: string;
  };
}

/** A blocking query's answer: the value and X-Consul-Index. */
export interface Indexed<T> {
  value: T;
  index: number;
  /** X-Consul-Results-Filtered-By-ACLs: the token could not see everything. */
  filteredByAcls: boolean;
}

/** PUT /v1/session/create's body (api/session.go SessionEntry). */
export interface SessionRequest {
  Name?: string;
  /** Go duration; Consul invalidates the session up to twice this after its last renewal. */
  TTL?: string;
  /** Go duration: how long keys the session held stay unlockable after it is invalidated. */
  LockDelay?: string;
  Behavior?: "release" | "delete";
}

/** One GET /v1/kv/:key entry; Value decoded to text (null for a key without a value). */
export interface KvPair {
  Key: string;
  Value: string | null;
  Flags: number;
  LockIndex: number;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}
