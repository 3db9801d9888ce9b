// Prometheus HTTP service discovery (serviceDiscovery: http): the operator answers
// GET /sd/prometheus with the same targets Consul would list (one group per training replica).
//
// The provider is the composition root's to wire: it lists the metrics endpoints of running
// TrainingJob replicas (container IP on the stack network and the job's metrics port and path),
// from the Docker or Nomad scheduler's observed runs. It is called on every request (Prometheus
// refreshes every scrape interval), so it answers from memory, without I/O.
import type { IncomingMessage, ServerResponse } from "node:http";
import { byCodeUnits } from "../api/order.ts";

export interface ScrapeTarget {
  /** "ip:port", reachable from the stack's network. */
  readonly address: string;
  readonly metricsPath: string;
  readonly namespace: string;
  readonly name: string;
  /** Extra labels (replica, run id, scheduler...): names must match [a-zA-Z_][a-zA-Z0-9_]*. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ScrapeTargetProvider {
  targets(): readonly ScrapeTarget[];
}

export interface SdGroup {
  targets: string[];
  labels: Record<string, string>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The `/sd/prometheus` body: Prometheus's http_sd format, in a stable order. */
export function sdGroups(targets: readonly ScrapeTarget[], job = "mlops-trainingjobs"): SdGroup[] {
  return [...targets]
    .sort((a, b) =>
      byCodeUnits(`${a.namespace}/${a.name}/${a.address}`, `${b.namespace}/${b.name}/${b.address}`),
    )
    .map((t) => {
      const labels: Record<string, string> = {};
      for (const [key, value] of Object.entries(t.labels ?? {})) {
        if (LABEL_NAME.test(key) && !key.startsWith("__")) labels[key] = value;
      }
      return {
        targets: [t.address],
        labels: {
          ...labels,
          __metrics_path__: t.metricsPath,
          job,
          mlops_namespace: t.namespace,
          mlops_name: t.name,
        },
      };
    });
}

/** A node:http handler for GET /sd/prometheus (mount it on the operator's server). */
export function sdHandler(
  provider: ScrapeTargetProvider,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(sdGroups(provider.targets()));
    } catch (error) {
      res
        .writeHead(500, { "content-type": "text/plain" })
        .end(`listing scrape targets failed: ${String(error)}\n`);
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  };
}
