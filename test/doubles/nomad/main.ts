// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: command/agent/http.go (listener),
// see server.ts.
// Runs the Nomad double as a standalone server (also inside a container image: node built-ins only):
//   node test/doubles/nomad/main.ts --listen 0.0.0.0:4646 [--consul http://host:8500] [--auto-run]
//     [--run-for-ms N] [--token T] [--version 1.9.7] [--namespace ns]...
// --auto-run moves allocations pending → running by themselves (and, with --run-for-ms, to complete).
import { parseArgs } from "node:util";
import { ScriptedExecutor, SimulatedExecutor } from "./executor.ts";
import { NomadDouble } from "./server.ts";

const { values } = parseArgs({
  options: {
    listen: { type: "string", default: "127.0.0.1:4646" },
    consul: { type: "string" },
    "consul-token": { type: "string" },
    "auto-run": { type: "boolean", default: false },
    "run-for-ms": { type: "string" },
    token: { type: "string", multiple: true },
    version: { type: "string" },
    namespace: { type: "string", multiple: true },
    "heartbeat-ms": { type: "string" },
  },
});

const [host = "127.0.0.1", port = "4646"] = (values.listen ?? "").split(/:(?=\d+$)/);
const runFor = values["run-for-ms"] ? Number(values["run-for-ms"]) : undefined;
const double = new NomadDouble({
  host,
  port: Number(port),
  executor: values["auto-run"]
    ? new SimulatedExecutor(runFor !== undefined ? { runForMs: runFor } : {})
    : new ScriptedExecutor(),
  ...(values.consul ? { consul: values.consul } : {}),
  ...(values["consul-token"] ? { consulToken: values["consul-token"] } : {}),
  ...(values.token ? { tokens: values.token } : {}),
  ...(values.version ? { version: values.version } : {}),
  ...(values.namespace ? { namespaces: values.namespace } : {}),
  ...(values["heartbeat-ms"] ? { heartbeatMs: Number(values["heartbeat-ms"]) } : {}),
});
await double.start();
process.stdout.write(`nomad double listening on ${double.address}\n`);
const stop = () => {
  double.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
