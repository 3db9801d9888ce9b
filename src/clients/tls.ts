// TLS to Nomad, Consul and Grafana, built one way for every client (request/response, blocking
// queries, the event stream and followed logs): CA, client certificate and key read from files, an
// expected server name, verification on unless explicitly skipped. A certificate problem becomes one
// message naming the address and the variable that fixes it; it is not retried at the HTTP level (a
// certificate does not fix itself between retries): the controller's backoff retries the resource.
import { readFileSync } from "node:fs";
import type { Dispatcher, Agent as UndiciAgent } from "undici";
import { Agent } from "./undici.ts";

export type TlsSystem = "nomad" | "consul" | "grafana";

export interface TlsOptions {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Off by default; only for development. */
  insecureSkipVerify?: boolean;
  serverName?: string;
}

/** The environment variables behind each setting, per system (as each system's own CLI reads them). */
export const TLS_VARIABLES: Readonly<
  Record<TlsSystem, { ca: string; cert: string; key: string; serverName: string; skip: string }>
> = {
  nomad: {
    ca: "NOMAD_CACERT",
    cert: "NOMAD_CLIENT_CERT",
    key: "NOMAD_CLIENT_KEY",
    serverName: "NOMAD_TLS_SERVER_NAME",
    skip: "NOMAD_SKIP_VERIFY=true",
  },
  consul: {
    ca: "CONSUL_CACERT",
    cert: "CONSUL_CLIENT_CERT",
    key: "CONSUL_CLIENT_KEY",
    serverName: "CONSUL_TLS_SERVER_NAME",
    skip: "CONSUL_HTTP_SSL_VERIFY=false",
  },
  grafana: {
    ca: "GRAFANA_CA_FILE",
    cert: "GRAFANA_CLIENT_CERT",
    key: "GRAFANA_CLIENT_KEY",
    serverName: "GRAFANA_TLS_SERVER_NAME",
    skip: "GRAFANA_SKIP_VERIFY=true",
  },
};

/** A dispatcher with these TLS settings; undefined when none is set (undici's global one serves). */
export function tlsDispatcher(
  tls: TlsOptions | undefined,
  options: UndiciAgent.Options = {},
): Dispatcher | undefined {
  if (!tls || !(tls.caFile || tls.certFile || tls.insecureSkipVerify || tls.serverName)) return undefined;
  return new Agent({
    ...options,
    connect: {
      ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
      ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
      ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
      ...(tls.serverName ? { servername: tls.serverName } : {}),
      rejectUnauthorized: !tls.insecureSkipVerify,
    },
  });
}

const UNKNOWN_CA = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
]);

/**
 * The message for a TLS failure of a request to `address`, or undefined when `error` is no TLS
 * failure. One sentence: what is wrong and which variable to set.
 */
export function tlsFailure(error: unknown, system: TlsSystem, address: string): string | undefined {
  const code = codeOf(error);
  if (!code) return undefined;
  const vars = TLS_VARIABLES[system];
  const at = `${name[system]} at ${address}: TLS:`;
  if (UNKNOWN_CA.has(code)) {
    return `${at} the server's certificate is not signed by a trusted CA (${code}); set ${vars.ca} to the PEM file of the CA that issued it`;
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return `${at} the server's certificate is not issued for the name connected to (${messageOf(error)}); set ${vars.serverName} to a name it is issued for`;
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    const when = code === "CERT_HAS_EXPIRED" ? "has expired" : "is not valid yet";
    return `${at} the server's certificate ${when} (${code}); renew it on the server (${vars.skip} skips verification, for development only)`;
  }
  if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/.test(code)) {
    return `${at} the server refused the client certificate (${code}); set ${vars.cert} and ${vars.key} to a certificate and key its CA trusts`;
  }
  if (code.startsWith("ERR_SSL_WRONG_VERSION_NUMBER") || code === "EPROTO") {
    return `${at} the server does not speak TLS at this address (${code}); use http:// or the server's HTTPS port`;
  }
  return undefined;
}

const name: Record<TlsSystem, string> = { nomad: "Nomad", consul: "Consul", grafana: "Grafana" };

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (UNKNOWN_CA.has(code) || /CERT|TLS|SSL|EPROTO/.test(code))) return code;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === "ERR_TLS_CERT_ALTNAME_INVALID") return (e as Error).message;
  }
  return error instanceof Error ? error.message : String(error);
}
