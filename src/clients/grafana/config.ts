// Where Grafana is and how to authenticate: GRAFANA_URL, and GRAFANA_TOKEN (a service account
// token, sent as `Authorization: Bearer`) or GRAFANA_USER/GRAFANA_PASSWORD (basic auth). Options
// override env. The credentials only ever travel in the Authorization header. TLS: GRAFANA_CA_FILE,
// GRAFANA_CLIENT_CERT, GRAFANA_CLIENT_KEY, GRAFANA_TLS_SERVER_NAME, GRAFANA_SKIP_VERIFY (off unless
// "true" or "1").
import { OperatorError } from "../../api/errors.ts";
import type { TlsOptions } from "../http.ts";

export const DEFAULT_GRAFANA_URL = "http://127.0.0.1:3000";

export interface GrafanaOptions {
  url?: string;
  token?: string;
  user?: string;
  password?: string;
  tls?: TlsOptions;
}

export interface GrafanaConfig {
  baseUrl: string;
  /** The Authorization header value, or undefined for anonymous access. */
  authorization: string | undefined;
  tls: TlsOptions | undefined;
}

export function grafanaConfig(
  options: GrafanaOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): GrafanaConfig {
  const raw = (options.url ?? (env.GRAFANA_URL || DEFAULT_GRAFANA_URL)).trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch (error) {
    throw new OperatorError("InvalidConfig", `GRAFANA_URL ${JSON.stringify(raw)} is not a URL`, {
      cause: error,
      terminal: true,
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new OperatorError("InvalidConfig", `GRAFANA_URL ${JSON.stringify(raw)}: use http:// or https://`, {
      terminal: true,
    });
  }
  if (url.username || url.password) {
    throw new OperatorError(
      "InvalidConfig",
      "GRAFANA_URL must not carry credentials; use GRAFANA_TOKEN or GRAFANA_USER/GRAFANA_PASSWORD",
      { terminal: true },
    );
  }
  const token = options.token ?? (env.GRAFANA_TOKEN || undefined);
  const user = options.user ?? (env.GRAFANA_USER || undefined);
  const password = options.password ?? (env.GRAFANA_PASSWORD || undefined);
  let authorization: string | undefined;
  if (token) authorization = `Bearer ${token}`;
  else if (user !== undefined && password !== undefined) {
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  }
  const tls: TlsOptions = {
    ...(env.GRAFANA_CA_FILE ? { caFile: env.GRAFANA_CA_FILE } : {}),
    ...(env.GRAFANA_CLIENT_CERT ? { certFile: env.GRAFANA_CLIENT_CERT } : {}),
    ...(env.GRAFANA_CLIENT_KEY ? { keyFile: env.GRAFANA_CLIENT_KEY } : {}),
    ...(env.GRAFANA_TLS_SERVER_NAME ? { serverName: env.GRAFANA_TLS_SERVER_NAME } : {}),
    ...(env.GRAFANA_SKIP_VERIFY === "true" || env.GRAFANA_SKIP_VERIFY === "1"
      ? { insecureSkipVerify: true }
      : {}),
    ...options.tls,
  };
  return {
    baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, "")}`,
    authorization,
    tls: Object.keys(tls).length > 0 ? tls : undefined,
  };
}
