// Long-lived streaming GETs (event stream, followed logs): the shared HttpClient reads whole bodies,
// so these go through undici directly, with the same address, token header and TLS settings.
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { externalRequests } from "../../observability/metrics.ts";
import { tlsDispatcher, tlsFailure } from "../tls.ts";
import { request } from "../undici.ts";
import type { NomadConfig } from "./config.ts";
import { fromStatus, NomadError, NomadReason } from "./errors.ts";

export interface OpenStream {
  body: Readable;
  headers: Record<string, string | string[] | undefined>;
}

export function streamDispatcher(config: NomadConfig): Dispatcher | undefined {
  return tlsDispatcher(config.tls);
}

/** Opens a streaming GET; a non-2xx answer becomes a typed NomadError (body kept, token never). */
export async function openStream(
  config: NomadConfig,
  dispatcher: Dispatcher | undefined,
  path: string,
  query: URLSearchParams,
  endpoint: string,
  signal: AbortSignal,
  connectTimeoutMs = 10_000,
): Promise<OpenStream> {
  const url = new URL(config.address + path);
  url.search = query.toString();
  const headers: Record<string, string> = { accept: "application/json" };
  if (config.token) headers["x-nomad-token"] = config.token;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: "GET",
      headers,
      signal,
      headersTimeout: connectTimeoutMs,
      bodyTimeout: 0,
      ...(dispatcher ? { dispatcher } : {}),
    });
  } catch (error) {
    externalRequests.inc({ system: "nomad", endpoint, code: "error" });
    if (signal.aborted) throw error;
    const code = (error as { code?: string }).code;
    const tls = tlsFailure(error, "nomad", config.address);
    throw new NomadError(
      NomadReason.Unavailable,
      tls ??
        `Nomad at ${config.address} is unreachable (GET ${endpoint}): ${(error as Error).message}${code ? ` (${code})` : ""}`,
      undefined,
      undefined,
      error,
    );
  }
  externalRequests.inc({ system: "nomad", endpoint, code: String(response.statusCode) });
  if (response.statusCode >= 300) {
    const text = await response.body.text();
    throw fromStatus(
      response.statusCode,
      text,
      `Nomad GET ${endpoint}: ${response.statusCode}${text.trim() ? `: ${text.trim().slice(0, 500)}` : ""}`,
    );
  }
  return { body: response.body as unknown as Readable, headers: response.headers };
}
