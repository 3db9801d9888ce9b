export type { BlockingOptions, ConsulClientOptions, HealthState } from "./client.ts";
export { ConsulClient } from "./client.ts";
export type { ConsulConfig, ConsulOptions } from "./config.ts";
export { consulBaseUrl, consulConfig, DEFAULT_CONSUL_ADDR, parseGoBool } from "./config.ts";
export type { ConfiguredConsul } from "./configured.ts";
export { consulFromEnv } from "./configured.ts";
export { ConsulSessionLock, type ConsulSessionLockOptions } from "./lock.ts";
export { CONSUL_KV_MAX_VALUE_BYTES, ConsulSharedState } from "./shared-state.ts";
export type {
  AgentService,
  CatalogServiceEntry,
  CheckStatus,
  HealthCheck,
  Indexed,
  KvPair,
  ServiceRegistration,
  SessionRequest,
} from "./types.ts";
