// Server: Consul 1.20.2, hashicorp/consul. Follows: see each module's header.
export { compileFilter, FilterError } from "./filter.ts";
export type { NomadServiceFixture } from "./fixtures.ts";
export { nomadServiceRegistration } from "./fixtures.ts";
export { HttpCheckRunner, probe } from "./http-checks.ts";
export { contentHash, routeTemplate } from "./routes.ts";
export type { ConsulDoubleOptions, Outage } from "./server.ts";
export { ConsulDouble, startConsulDouble } from "./server.ts";
export type { NodeInfo, Table } from "./state.ts";
export { ConsulDoubleError, ConsulState, parseDuration } from "./state.ts";
export type {
  AgentService,
  CatalogServiceEntry,
  CheckDefinition,
  CheckStatus,
  HealthCheck,
  ServiceRegistration,
} from "./types.ts";
export { CHECK_STATUSES } from "./types.ts";
