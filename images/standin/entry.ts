// Entry of the stand-in images for Consul, Nomad and Grafana (no registry here, so no official
// image): takes the official image's command line and configuration (what render() gives the
// official images), starts the project's API double for the component on a loopback port, and
// serves the component's port in front of it: its Prometheus metrics path is answered here, every
// other request is passed to the double. Node built-ins only.
//   node /app/images/standin/entry.ts consul|nomad|grafana [official args...]
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { fileURLToPath } from "node:url";

type Component = "consul" | "nomad" | "grafana";
const component = process.argv[2] as Component;
const args = process.argv.slice(3);
const METRICS: Record<Component, string> = {
  consul: "/v1/agent/metrics",
  nomad: "/v1/metrics",
  grafana: "/metrics",
};
const HEALTH: Record<Component, { path: string; body: string }> = {
  consul: { path: "/v1/status/leader", body: '"127.0.0.1:8300"' },
  nomad: { path: "/v1/status/leader", body: '"127.0.0.1:4647"' },
  grafana: { path: "/api/health", body: '{"commit":"standin","database":"ok","version":"11.5.2"}' },
};

interface ConsulConfig {
  ports?: { http?: number };
  node_name?: string;
}

function consulConfig(): ConsulConfig {
  const dir = "/consul/config";
  let merged: ConsulConfig = {};
  for (const file of existsSync(dir) ? readdirSync(dir).sort() : []) {
    if (file.endsWith(".json")) merged = { ...merged, ...JSON.parse(readFileSync(`${dir}/${file}`, "utf8")) };
  }
  return merged;
}

function nomadConfig(): string {
  const config = args.find((a) => a.startsWith("-config="))?.slice("-config=".length);
  return config && existsSync(config) ? readFileSync(config, "utf8") : "";
}

function nomadPort(): number {
  const match = /ports\s*\{[^}]*\bhttp\s*=\s*(\d+)/.exec(nomadConfig());
  return match ? Number(match[1]) : 4646;
}

/** The double's own options, from the component's configuration. */
function doubleArgs(): { args: string[]; env: NodeJS.ProcessEnv } {
  const env = { ...process.env };
  if (component === "consul") {
    const node = consulConfig().node_name;
    return { args: node ? ["--node", node] : [], env };
  }
  if (component === "nomad") {
    const consul = /consul\s*\{[^}]*\baddress\s*=\s*"([^"]+)"/.exec(nomadConfig())?.[1];
    // The node declares what the agent configuration declares (host volumes, the device plugin).
    const config = args.find((a) => a.startsWith("-config="))?.slice("-config=".length);
    return {
      args: [
        ...(consul ? ["--consul", `http://${consul}`] : []),
        ...(config && existsSync(config) ? ["--agent-config", config] : []),
      ],
      env,
    };
  }
  const file = process.env.GF_SECURITY_ADMIN_PASSWORD__FILE;
  if (file && existsSync(file)) env.GF_SECURITY_ADMIN_PASSWORD = readFileSync(file, "utf8").trim();
  const dashboards = "/etc/grafana/dashboards/mlops";
  return { args: existsSync(dashboards) ? ["--dashboards-dir", dashboards] : [], env };
}

const port =
  component === "consul"
    ? (consulConfig().ports?.http ?? 8500)
    : component === "nomad"
      ? nomadPort()
      : Number(process.env.GF_SERVER_HTTP_PORT ?? 3000);
if (!(component in METRICS) || !Number.isInteger(port)) {
  process.stderr.write(`standin: unknown component ${JSON.stringify(component)} or port\n`);
  process.exit(2);
}

const internal = 39_000 + (port % 1000);
const main = fileURLToPath(new URL(`../../test/doubles/${component}/main.ts`, import.meta.url));
const hasDouble = existsSync(main);
let requests = 0;
if (hasDouble) {
  const extra = doubleArgs();
  const child = spawn(process.execPath, [main, "--listen", `127.0.0.1:${internal}`, ...extra.args], {
    stdio: "inherit",
    env: extra.env,
  });
  child.on("exit", (code) => {
    process.stderr.write(`standin: ${component} double exited (${code}); exiting\n`);
    process.exit(code ?? 1);
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      child.kill(signal);
    });
  }
} else {
  process.stderr.write(`standin: no double at ${main}; serving health and metrics only\n`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
}

const server = createServer((req, res) => {
  requests += 1;
  const path = (req.url ?? "/").split("?")[0];
  if (path === METRICS[component]) {
    const body = [
      "# HELP mlops_standin_up 1 while the stand-in serves.",
      "# TYPE mlops_standin_up gauge",
      `mlops_standin_up{component="${component}",double="${hasDouble}"} 1`,
      "# HELP mlops_standin_requests_total Requests served by the stand-in.",
      "# TYPE mlops_standin_requests_total counter",
      `mlops_standin_requests_total{component="${component}"} ${requests}`,
      "",
    ].join("\n");
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body);
    return;
  }
  if (!hasDouble) {
    const health = HEALTH[component];
    if (path === health.path) res.writeHead(200, { "content-type": "application/json" }).end(health.body);
    else res.writeHead(404, { "content-type": "text/plain" }).end(`stand-in ${component}: no double for ${path}\n`);
    return;
  }
  const upstream = request(
    { host: "127.0.0.1", port: internal, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", (error) => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end(`stand-in ${component}: double unreachable: ${error.message}\n`);
  });
  req.pipe(upstream);
});
server.listen(port, "0.0.0.0", () => {
  process.stdout.write(`standin ${component} on 0.0.0.0:${port} (double on 127.0.0.1:${internal})\n`);
});
