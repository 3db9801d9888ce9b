export type { BlockingOptions, ConsulClientOptions, HealthState } from "./client.ts";
export { ConsulClient } from "./client.ts";
export type { ConsulConfig, ConsulOptions } from "./config.ts";
export { consulBaseUrl, consulConfig, DEFAULT_CONSUL_ADDR, parseGoBool } from "./config.ts";
export type { ConfiguredConsul } from "./configured.ts";
export { consulFromEnv } from "./configured.ts";
export {
  aggregateHealth,
  changedKeys,
  META_NAME,
  META_NAMESPACE,
  OPERATOR_SERVICE_TAG,
  operatorChecksFilter,
  ownerFromMeta,
  worse,
} from "./health.ts";
export type { ConsulMetricsHealthOptions } from "./metrics-health.ts";
export { ConsulMetricsHealth } from "./metrics-health.ts";
export type {
  AgentService,
  CatalogServiceEntry,
  HealthCheck,
  Indexed,
  ServiceRegistration,
} from "./types.ts";
