// Server: Grafana 11.5.2, grafana/grafana. Follows: conf/defaults.ini (GF_ variables),
// pkg/services/provisioning/dashboards (file provider).
// Standalone Grafana double, for a stand-in container or a developer's shell:
//   node test/doubles/grafana/main.ts --listen 0.0.0.0:3000 [--token T] [--user U --password P]
//     [--dashboards-dir DIR]   (every *.json in DIR is provisioned as a dashboard, as Grafana's file provider does)
// GRAFANA_DOUBLE_TOKEN, GF_SECURITY_ADMIN_USER and GF_SECURITY_ADMIN_PASSWORD work as in Grafana's image.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseListen } from "../listener.ts";
import { startGrafanaDouble } from "./server.ts";

const { values } = parseArgs({
  options: {
    listen: { type: "string", default: "127.0.0.1:3000" },
    token: { type: "string" },
    user: { type: "string" },
    password: { type: "string" },
    "dashboards-dir": { type: "string" },
  },
});

const { host, port } = parseListen(values.listen);
const token = values.token ?? process.env.GRAFANA_DOUBLE_TOKEN;
const user = values.user ?? process.env.GF_SECURITY_ADMIN_USER;
const password = values.password ?? process.env.GF_SECURITY_ADMIN_PASSWORD;
const double = await startGrafanaDouble({
  host,
  port,
  ...(token ? { token } : {}),
  ...(user && password ? { basic: { user, password } } : {}),
});
const dir = values["dashboards-dir"];
for (const file of dir ? readdirSync(dir).filter((f) => f.endsWith(".json")) : []) {
  const dashboard = JSON.parse(readFileSync(join(dir as string, file), "utf8")) as Record<string, unknown>;
  const saved = double.state.saveDashboard(dashboard, true);
  if (typeof saved === "object") process.stdout.write(`provisioned dashboard ${saved.uid} from ${file}\n`);
}
process.stdout.write(`grafana double listening on ${double.url}\n`);
const stop = (): void => {
  void double.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
