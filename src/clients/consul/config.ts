// Where Consul is and how to talk to it, read as Consul's own CLI reads it: CONSUL_HTTP_ADDR with or
// without a scheme (http unless CONSUL_HTTP_SSL=true; an explicit scheme wins), CONSUL_HTTP_TOKEN or
// CONSUL_HTTP_TOKEN_FILE (sent as X-Consul-Token), CONSUL_CACERT, CONSUL_CLIENT_CERT,
// CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME and CONSUL_HTTP_SSL_VERIFY. Options override env.
import { readFileSync } from "node:fs";
import { OperatorError } from "../../api/errors.ts";
import type { TlsOptions } from "../http.ts";

export const DEFAULT_CONSUL_ADDR = "127.0.0.1:8500";

export interface ConsulOptions {
  /** host:port or a URL (http://, https://). */
  address?: string;
  token?: string;
  tokenFile?: string;
  ssl?: boolean;
  tls?: TlsOptions;
}

export interface ConsulConfig {
  baseUrl: string;
  token: string | undefined;
  tls: TlsOptions | undefined;
}

/** Go's strconv.ParseBool, which Consul uses for its boolean env vars. */
export function parseGoBool(name: string, value: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new OperatorError("InvalidConfig", `${name}: ${JSON.stringify(value)} is not a boolean`, {
    terminal: true,
  });
}

/** Base URL from an address as CONSUL_HTTP_ADDR takes it. */
export function consulBaseUrl(address: string, ssl = false): string {
  const trimmed = address.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return `${ssl ? "https" : "http"}://${trimmed.replace(/\/+$/, "")}`;
  if (scheme === "http" || scheme === "https") return trimmed.replace(/\/+$/, "");
  throw new OperatorError(
    "InvalidConfig",
    `CONSUL_HTTP_ADDR ${JSON.stringify(trimmed)}: unsupported scheme ${scheme}:// (use http:// or https://)`,
    { terminal: true },
  );
}

export function consulConfig(
  options: ConsulOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ConsulConfig {
  const sslEnv = env.CONSUL_HTTP_SSL;
  const ssl = options.ssl ?? (sslEnv ? parseGoBool("CONSUL_HTTP_SSL", sslEnv) : false);
  const baseUrl = consulBaseUrl(options.address ?? (env.CONSUL_HTTP_ADDR || DEFAULT_CONSUL_ADDR), ssl);
  const tokenFile = options.tokenFile ?? env.CONSUL_HTTP_TOKEN_FILE;
  let token = options.token ?? (env.CONSUL_HTTP_TOKEN || undefined);
  if (token === undefined && tokenFile) {
    try {
      token = readFileSync(tokenFile, "utf8").trim() || undefined;
    } catch (error) {
      throw new OperatorError("InvalidConfig", `CONSUL_HTTP_TOKEN_FILE ${tokenFile}: cannot be read`, {
        cause: error,
        terminal: true,
      });
    }
  }
  const verifyEnv = env.CONSUL_HTTP_SSL_VERIFY;
  const tls: TlsOptions = {
    ...(env.CONSUL_CACERT ? { caFile: env.CONSUL_CACERT } : {}),
    ...(env.CONSUL_CLIENT_CERT ? { certFile: env.CONSUL_CLIENT_CERT } : {}),
    ...(env.CONSUL_CLIENT_KEY ? { keyFile: env.CONSUL_CLIENT_KEY } : {}),
    ...(env.CONSUL_TLS_SERVER_NAME ? { serverName: env.CONSUL_TLS_SERVER_NAME } : {}),
    ...(verifyEnv && !parseGoBool("CONSUL_HTTP_SSL_VERIFY", verifyEnv) ? { insecureSkipVerify: true } : {}),
    ...options.tls,
  };
  return { baseUrl, token, tls: Object.keys(tls).length > 0 ? tls : undefined };
}
