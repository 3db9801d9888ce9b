// JSON schemas of the Consul HTTP API parts this project uses, written from the documented API
// (developer.hashicorp.com/consul/api-docs: agent/service, health, catalog, status) because Consul
// publishes no machine-readable spec. Strict like the vendor-spec validators: every object forbids
// undeclared properties, and each lists the fields Consul always sends (or requires) as required.
// Exported for other suites (the Nomad double's registrations are checked against `registration`).
import { Ajv, type ValidateFunction } from "ajv";

type Schema = Record<string, unknown>;

/** Go duration strings as Consul takes them: "10s", "1m30s", "250ms". */
const duration: Schema = { type: "string", pattern: "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$" };
const stringMap: Schema = { type: "object", additionalProperties: { type: "string" } };
const stringList: Schema = { type: "array", items: { type: "string" } };
const status: Schema = { type: "string", enum: ["passing", "warning", "critical", "maintenance"] };
const weights: Schema = {
  type: "object",
  properties: { Passing: { type: "integer" }, Warning: { type: "integer" } },
  required: ["Passing", "Warning"],
  additionalProperties: false,
};
const serviceAddress: Schema = {
  type: "object",
  properties: { Address: { type: "string" }, Port: { type: "integer" } },
  required: ["Address", "Port"],
  additionalProperties: false,
};

/** A check in a service registration (agent/check docs, "Check" and "Checks" of agent/service). */
export const checkDefinition: Schema = {
  type: "object",
  properties: {
    CheckID: { type: "string" },
    ID: { type: "string" },
    Name: { type: "string" },
    Notes: { type: "string" },
    Status: { type: "string", enum: ["passing", "warning", "critical"] },
    Args: stringList,
    DockerContainerID: { type: "string" },
    Shell: { type: "string" },
    HTTP: { type: "string", pattern: "^https?://" },
    Method: { type: "string" },
    Header: { type: "object", additionalProperties: stringList },
    Body: { type: "string" },
    DisableRedirects: { type: "boolean" },
    TCP: { type: "string" },
    TCPUseTLS: { type: "boolean" },
    UDP: { type: "string" },
    GRPC: { type: "string" },
    GRPCUseTLS: { type: "boolean" },
    H2PING: { type: "string" },
    H2PingUseTLS: { type: "boolean" },
    OSService: { type: "string" },
    AliasNode: { type: "string" },
    AliasService: { type: "string" },
    TTL: duration,
    Interval: duration,
    Timeout: duration,
    TLSServerName: { type: "string" },
    TLSSkipVerify: { type: "boolean" },
    DeregisterCriticalServiceAfter: duration,
    SuccessBeforePassing: { type: "integer", minimum: 0 },
    FailuresBeforeWarning: { type: "integer", minimum: 0 },
    FailuresBeforeCritical: { type: "integer", minimum: 0 },
    OutputMaxSize: { type: "integer", minimum: 0 },
  },
  additionalProperties: false,
  // An HTTP/TCP/GRPC check needs an Interval; a TTL check a TTL (agent/structs CheckType.Validate).
  anyOf: [
    { required: ["TTL"] },
    {
      required: ["Interval"],
      anyOf: [{ required: ["HTTP"] }, { required: ["TCP"] }, { required: ["GRPC"] }, { required: ["Args"] }],
    },
    { required: ["AliasService"] },
  ],
};

/** Body of PUT /v1/agent/service/register. */
export const registration: Schema = {
  type: "object",
  properties: {
    ID: { type: "string", minLength: 1 },
    Name: { type: "string", minLength: 1 },
    Tags: stringList,
    Address: { type: "string" },
    TaggedAddresses: { type: "object", additionalProperties: serviceAddress },
    Meta: stringMap,
    Port: { type: "integer", minimum: 0, maximum: 65535 },
    Kind: { type: "string" },
    Proxy: { type: "object" },
    Connect: { type: "object" },
    Check: checkDefinition,
    Checks: { type: "array", items: checkDefinition },
    EnableTagOverride: { type: "boolean" },
    Weights: weights,
    Namespace: { type: "string" },
    Partition: { type: "string" },
  },
  required: ["Name"],
  additionalProperties: false,
};

/** One value of GET /v1/agent/services (a map keyed by service ID). */
export const agentService: Schema = {
  type: "object",
  properties: {
    ID: { type: "string" },
    Service: { type: "string" },
    Tags: stringList,
    Meta: stringMap,
    Port: { type: "integer" },
    Address: { type: "string" },
    SocketPath: { type: "string" },
    TaggedAddresses: { type: "object", additionalProperties: serviceAddress },
    Weights: weights,
    EnableTagOverride: { type: "boolean" },
    Datacenter: { type: "string" },
    Kind: { type: "string" },
    Proxy: { type: "object" },
    Connect: { type: "object" },
    ContentHash: { type: "string" },
    Namespace: { type: "string" },
    Partition: { type: "string" },
    PeerName: { type: "string" },
    Locality: { type: "object" },
  },
  required: ["ID", "Service", "Tags", "Meta", "Port", "Address", "Weights", "EnableTagOverride"],
  additionalProperties: false,
};

export const agentServices: Schema = { type: "object", additionalProperties: agentService };

/** An item of GET /v1/health/state/:state and /v1/health/checks/:service. */
export const healthCheck: Schema = {
  type: "object",
  properties: {
    ID: { type: "string" },
    Node: { type: "string" },
    CheckID: { type: "string" },
    Name: { type: "string" },
    Status: status,
    Notes: { type: "string" },
    Output: { type: "string" },
    ServiceID: { type: "string" },
    ServiceName: { type: "string" },
    ServiceTags: stringList,
    Type: { type: "string" },
    Interval: { type: "string" },
    Timeout: { type: "string" },
    ExposedPort: { type: "integer" },
    Definition: { type: "object" },
    CreateIndex: { type: "integer" },
    ModifyIndex: { type: "integer" },
    Namespace: { type: "string" },
    Partition: { type: "string" },
    PeerName: { type: "string" },
  },
  required: [
    "Node",
    "CheckID",
    "Name",
    "Status",
    "Notes",
    "Output",
    "ServiceID",
    "ServiceName",
    "ServiceTags",
  ],
  additionalProperties: false,
};

export const healthChecks: Schema = { type: "array", items: healthCheck };

/** An item of GET /v1/catalog/service/:service. */
export const catalogServiceEntry: Schema = {
  type: "object",
  properties: {
    ID: { type: "string" },
    Node: { type: "string" },
    Address: { type: "string" },
    Datacenter: { type: "string" },
    TaggedAddresses: stringMap,
    NodeMeta: stringMap,
    ServiceKind: { type: "string" },
    ServiceID: { type: "string" },
    ServiceName: { type: "string" },
    ServiceTags: stringList,
    ServiceAddress: { type: "string" },
    ServiceTaggedAddresses: { type: "object", additionalProperties: serviceAddress },
    ServiceWeights: weights,
    ServiceMeta: stringMap,
    ServicePort: { type: "integer" },
    ServiceSocketPath: { type: "string" },
    ServiceEnableTagOverride: { type: "boolean" },
    ServiceProxy: { type: "object" },
    ServiceConnect: { type: "object" },
    ServiceLocality: { type: "object" },
    CreateIndex: { type: "integer" },
    ModifyIndex: { type: "integer" },
    Namespace: { type: "string" },
    Partition: { type: "string" },
  },
  required: [
    "Node",
    "Address",
    "Datacenter",
    "ServiceID",
    "ServiceName",
    "ServiceTags",
    "ServiceAddress",
    "ServiceMeta",
    "ServicePort",
    "CreateIndex",
    "ModifyIndex",
  ],
  additionalProperties: false,
};

export const catalogService: Schema = { type: "array", items: catalogServiceEntry };

/** An item of GET /v1/health/service/:service. */
export const healthServiceEntry: Schema = {
  type: "object",
  properties: {
    Node: {
      type: "object",
      properties: {
        ID: { type: "string" },
        Node: { type: "string" },
        Address: { type: "string" },
        Datacenter: { type: "string" },
        TaggedAddresses: stringMap,
        Meta: stringMap,
        CreateIndex: { type: "integer" },
        ModifyIndex: { type: "integer" },
        Partition: { type: "string" },
        PeerName: { type: "string" },
        Locality: { type: "object" },
      },
      required: ["Node", "Address", "Datacenter"],
      additionalProperties: false,
    },
    Service: {
      ...agentService,
      properties: {
        ...(agentService.properties as Schema),
        CreateIndex: { type: "integer" },
        ModifyIndex: { type: "integer" },
      },
    },
    Checks: healthChecks,
  },
  required: ["Node", "Service", "Checks"],
  additionalProperties: false,
};

export const healthService: Schema = { type: "array", items: healthServiceEntry };

/** GET /v1/status/leader: "host:port" of the leader's RPC address, "" without a leader. */
export const leader: Schema = { type: "string", pattern: "^$|^.+:[0-9]+$" };

export const CONSUL_SCHEMAS = {
  registration,
  agentServices,
  healthChecks,
  catalogService,
  healthService,
  leader,
} as const;

export type ConsulSchemaName = keyof typeof CONSUL_SCHEMAS;

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const cache = new Map<ConsulSchemaName, ValidateFunction>();

/** Throws with every ajv error when `data` does not match the named schema. */
export function assertConsul(name: ConsulSchemaName, data: unknown): void {
  const validate = validator(name);
  if (!validate(data)) {
    const errors = (validate.errors ?? [])
      .map((e) => `  ${e.instancePath || "(root)"} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`)
      .join("\n");
    throw new Error(`Consul ${name} does not match the documented API:\n${errors}`);
  }
}

/** True when `data` matches (for tests that show a schema can fail); a broken schema throws. */
export function matchesConsul(name: ConsulSchemaName, data: unknown): boolean {
  return validator(name)(data) === true;
}

function validator(name: ConsulSchemaName): ValidateFunction {
  let validate = cache.get(name);
  if (!validate) {
    validate = ajv.compile(CONSUL_SCHEMAS[name]);
    cache.set(name, validate);
  }
  return validate;
}
