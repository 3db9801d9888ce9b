// The composition root's door to Consul: a MetricsHealth when Consul is configured (CONSUL_HTTP_ADDR
// or an explicit address), else undefined (Consul is optional; no health condition is reported).
import type { Logger } from "pino";
import { ConsulClient, type ConsulClientOptions } from "./client.ts";
import { ConsulMetricsHealth } from "./metrics-health.ts";

export interface ConfiguredConsul {
  client: ConsulClient;
  metricsHealth: ConsulMetricsHealth;
  close(): Promise<void>;
}

export function consulFromEnv(
  options: ConsulClientOptions & { logger?: Logger } = {},
  env: NodeJS.ProcessEnv = process.env,
): ConfiguredConsul | undefined {
  if (!options.address && !env.CONSUL_HTTP_ADDR) return undefined;
  const { logger, ...clientOptions } = options;
  const client = new ConsulClient({ ...clientOptions, env });
  const metricsHealth = new ConsulMetricsHealth({ client, ...(logger ? { logger } : {}) });
  return {
    client,
    metricsHealth,
    async close() {
      await metricsHealth.close();
      await client.close();
    },
  };
}
