// The composition root's door to Consul: a client when Consul is configured (CONSUL_HTTP_ADDR or an
// explicit address), else undefined (Consul is optional; no health condition is reported).
import { ConsulClient, type ConsulClientOptions } from "./client.ts";

export interface ConfiguredConsul {
  client: ConsulClient;
  close(): Promise<void>;
}

export function consulFromEnv(
  options: ConsulClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ConfiguredConsul | undefined {
  if (!options.address && !env.CONSUL_HTTP_ADDR) return undefined;
  const client = new ConsulClient({ ...options, env });
  return { client, close: () => client.close() };
}
