// Server: Consul 1.20.2, hashicorp/consul. Follows: agent/http.go (listener), see server.ts.
// Standalone Consul double, for a stand-in container or a developer's shell:
//   node test/doubles/consul/main.ts --listen 0.0.0.0:8500 [--token T] [--http-checks] [--node NAME]
// CONSUL_DOUBLE_TOKEN may carry the token instead of the command line.
import { parseArgs } from "node:util";
import { parseListen } from "../listener.ts";
import { startConsulDouble } from "./server.ts";

const { values } = parseArgs({
  options: {
    listen: { type: "string", default: "127.0.0.1:8500" },
    token: { type: "string" },
    "http-checks": { type: "boolean", default: false },
    node: { type: "string" },
    datacenter: { type: "string" },
  },
});

const { host, port } = parseListen(values.listen);
const token = values.token ?? process.env.CONSUL_DOUBLE_TOKEN;
const node = {
  ...(values.node ? { name: values.node } : {}),
  ...(values.datacenter ? { datacenter: values.datacenter } : {}),
  ...(host !== "0.0.0.0" && host !== "::" ? { address: host } : {}),
};
const double = await startConsulDouble({
  host,
  port,
  httpChecks: values["http-checks"],
  node,
  ...(token ? { token } : {}),
});
process.stdout.write(`consul double listening on ${double.url}\n`);
const stop = (): void => {
  void double.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
