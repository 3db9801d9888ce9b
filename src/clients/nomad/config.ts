// Nomad connection settings from options or the HashiCorp environment variables, as Nomad's own CLI
// reads them. The token is kept apart from everything that may be logged.
import type { TlsOptions } from "../http.ts";

export interface NomadConfig {
  address: string;
  token?: string;
  region?: string;
  /** Default namespace for requests that name none. */
  namespace?: string;
  tls?: TlsOptions;
  timeoutMs?: number;
  retries?: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_NOMAD_ADDR = "http://127.0.0.1:4646";

/** Options win over the environment; NOMAD_SKIP_VERIFY is off unless "true" or "1". */
export function nomadConfig(options: Partial<NomadConfig> = {}, env: Env = process.env): NomadConfig {
  const tls: TlsOptions = {
    ...pick("caFile", env.NOMAD_CACERT),
    ...pick("certFile", env.NOMAD_CLIENT_CERT),
    ...pick("keyFile", env.NOMAD_CLIENT_KEY),
    ...pick("serverName", env.NOMAD_TLS_SERVER_NAME),
    ...(truthy(env.NOMAD_SKIP_VERIFY) ? { insecureSkipVerify: true } : {}),
    ...options.tls,
  };
  const token = options.token ?? nonEmpty(env.NOMAD_TOKEN);
  const region = options.region ?? nonEmpty(env.NOMAD_REGION);
  const namespace = options.namespace ?? nonEmpty(env.NOMAD_NAMESPACE);
  return {
    address: normalizeAddress(options.address ?? nonEmpty(env.NOMAD_ADDR) ?? DEFAULT_NOMAD_ADDR),
    ...(token ? { token } : {}),
    ...(region ? { region } : {}),
    ...(namespace ? { namespace } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
  };
}

/** `127.0.0.1:4646` → `http://127.0.0.1:4646`; a trailing slash is dropped. */
export function normalizeAddress(address: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `http://${address}`;
  return withScheme.replace(/\/+$/, "");
}

function pick<K extends keyof TlsOptions>(key: K, value: string | undefined): Partial<TlsOptions> {
  const v = nonEmpty(value);
  return v ? ({ [key]: v } as Partial<TlsOptions>) : {};
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() !== "" ? value.trim() : undefined;
}

function truthy(value: string | undefined): boolean {
  return value === "1" || value?.toLowerCase() === "true";
}
