export type {
  AnnotationPatch,
  AnnotationQuery,
  GrafanaAnnotation,
  GrafanaClientOptions,
  GrafanaHealth,
  NewAnnotation,
} from "./client.ts";
export { GrafanaClient } from "./client.ts";
export type { GrafanaConfig, GrafanaOptions } from "./config.ts";
export { DEFAULT_GRAFANA_URL, grafanaConfig } from "./config.ts";
export type { ConfiguredGrafana } from "./configured.ts";
export { grafanaFromEnv } from "./configured.ts";
export type { AnnotationApi, BasicCredential } from "./credentialed.ts";
export { CredentialedGrafana } from "./credentialed.ts";
