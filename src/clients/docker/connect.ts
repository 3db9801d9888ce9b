// The one way to reach a Docker engine: DOCKER_HOST (unix://, tcp://, with DOCKER_CERT_PATH for TLS)
// or the local socket, at Engine API 1.41 (Docker 20.10). On a newer engine that no longer serves
// 1.41 (Docker 29 serves ≥ 1.44) the lowest version the engine accepts is used instead. Every call
// goes through `call()`: one place for the typed error mapping and the request metrics. dockerode
// (with ssh2, gRPC, protobuf and OpenTelemetry: ~33 MB of RSS) is imported by `connectDocker` when it
// runs, not with this module; `lazyDocker` (lazy.ts) defers even that to the first call.
import type Docker from "dockerode";
import { externalRequestDuration, externalRequests } from "../../observability/metrics.ts";
import { dockerError, statusOf } from "./errors.ts";

export const PINNED_API_VERSION = "1.41";

export interface DockerConnectOptions {
  /** DOCKER_HOST-style address (unix:///var/run/docker.sock, tcp://127.0.0.1:2375); default: env or the local socket. */
  host?: string;
  /** API version to pin; default 1.41 (negotiated down/up within what the engine serves). */
  apiVersion?: string;
  /** Probe the engine's /version to negotiate; off keeps the pin as is (no I/O). Default true. */
  negotiate?: boolean;
  /** Time allowed for the negotiation probe. */
  probeTimeoutMs?: number;
  /** Time allowed for one call until its answer starts (streams: until the headers); default 120 s. */
  callTimeoutMs?: number;
}

/** What the operator's Docker code uses: every call goes through `call`. */
export interface DockerConnection {
  /** Where the engine is, for messages and status (`run.target`). */
  readonly target: string;
  /** Runs one Docker call: maps its failure to a typed error naming `what`, counts it per endpoint. */
  call<T>(endpoint: string, what: string, fn: (docker: Docker) => Promise<T>): Promise<T>;
}

/** A connection made: the dockerode client itself (tests reach the engine with it) and the version spoken. */
export interface ConnectedDocker extends DockerConnection {
  readonly docker: Docker;
  readonly apiVersion: string;
  /**
   * False when the engine did not answer the version probe: apiVersion is then the pin, which an
   * engine started later may not serve (Docker 29 serves 1.44 and newer).
   */
  readonly negotiated?: boolean;
}

export function dockerTarget(host = process.env.DOCKER_HOST): string {
  return host && host !== "" ? host : "unix:///var/run/docker.sock";
}

function clientOptions(target: string, version: string | undefined): Docker.DockerOptions {
  const versioned = version === undefined ? {} : { version: `v${version}` };
  if (target.startsWith("unix://")) return { socketPath: target.slice("unix://".length), ...versioned };
  if (target.startsWith("/")) return { socketPath: target, ...versioned };
  const url = new URL(target.replace(/^tcp:/, process.env.DOCKER_TLS_VERIFY ? "https:" : "http:"));
  const protocol = url.protocol === "https:" ? "https" : "http";
  const port = url.port || (protocol === "https" ? "2376" : "2375");
  // TLS material (DOCKER_CERT_PATH) is read by docker-modem itself for host/port connections.
  return { host: url.hostname, port, protocol, ...versioned };
}

/** Compares "1.41"-style versions. */
export function compareApiVersions(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split(".").map(Number);
  const [bmaj = 0, bmin = 0] = b.split(".").map(Number);
  return amaj !== bmaj ? amaj - bmaj : amin - bmin;
}

/** The version to speak: the pin when the engine serves it, else the nearest one it serves. */
export function negotiateApiVersion(
  pinned: string,
  server: { ApiVersion?: string; MinAPIVersion?: string },
): string {
  const max = server.ApiVersion;
  const min = server.MinAPIVersion;
  if (max && compareApiVersions(max, pinned) < 0) return max;
  if (min && compareApiVersions(min, pinned) > 0) return min;
  return pinned;
}

export async function connectDocker(options: DockerConnectOptions = {}): Promise<ConnectedDocker> {
  const { default: Dockerode } = await import("dockerode");
  const target = dockerTarget(options.host);
  const pinned = options.apiVersion ?? PINNED_API_VERSION;
  let version = pinned;
  let negotiated = true;
  if (options.negotiate ?? true) {
    const probe = new Dockerode({
      ...clientOptions(target, undefined),
      timeout: options.probeTimeoutMs ?? 3000,
    });
    try {
      version = negotiateApiVersion(
        pinned,
        (await probe.version()) as { ApiVersion?: string; MinAPIVersion?: string },
      );
    } catch {
      // Unreachable now: keep the pin; calls will report DockerUnavailable until the engine answers.
      negotiated = false;
    }
  }
  return {
    ...dockerConnection(
      new Dockerode(clientOptions(target, version)),
      target,
      version,
      options.callTimeoutMs,
    ),
    negotiated,
  };
}

/** Wraps an existing dockerode client (tests, or a composition root that built its own). */
export function dockerConnection(
  docker: Docker,
  target: string,
  apiVersion = PINNED_API_VERSION,
  callTimeoutMs = 120_000,
): ConnectedDocker {
  return {
    docker,
    target,
    apiVersion,
    async call<T>(endpoint: string, what: string, fn: (d: Docker) => Promise<T>): Promise<T> {
      const end = externalRequestDuration.startTimer({ system: "docker", endpoint });
      try {
        const result = await withTimeout(fn(docker), callTimeoutMs, what);
        externalRequests.inc({ system: "docker", endpoint, code: "2xx" });
        return result;
      } catch (error) {
        externalRequests.inc({ system: "docker", endpoint, code: String(statusOf(error) ?? "error") });
        throw dockerError(error, what, target);
      } finally {
        end();
      }
    },
  };
}

/** A hung engine must not hang a reconcile: the call fails as unreachable after `ms` (the request is left to die). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(Object.assign(new Error(`no answer within ${ms} ms while ${what}`), { code: "ETIMEDOUT" })),
      ms,
    );
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}
