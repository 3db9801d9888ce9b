// The composition root's door to Grafana: a client when Grafana is configured (GRAFANA_URL or an
// explicit URL), else undefined (Grafana is optional; runs are simply not annotated).
import { GrafanaClient, type GrafanaClientOptions } from "./client.ts";

export interface ConfiguredGrafana {
  client: GrafanaClient;
  close(): Promise<void>;
}

export function grafanaFromEnv(
  options: GrafanaClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ConfiguredGrafana | undefined {
  if (!options.url && !env.GRAFANA_URL) return undefined;
  const client = new GrafanaClient({ ...options, env });
  return { client, close: () => client.close() };
}
