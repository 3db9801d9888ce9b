// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: command/agent/http.go (listener),
// see server.ts.
// Runs the Nomad double as a standalone server (also inside a container image: node built-ins only):
//   node test/doubles/nomad/main.ts --listen 0.0.0.0:4646 [--consul http://host:8500] [--auto-run]
//     [--start-after-ms N] [--run-for-ms N] [--token T] [--version 1.9.7] [--namespace ns]... [--agent-config file.hcl]
//     [--gpus N]
// --agent-config makes the node what the agent configuration declares (host volumes; GPUs, `--gpus`
// of them, only when the NVIDIA device plugin is configured).
// --auto-run moves allocations pending → running by themselves (after --start-after-ms, default 200)
// and, with --run-for-ms, to complete.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { nodeFromAgentConfig } from "./agent-config.ts";
import { ScriptedExecutor, SimulatedExecutor } from "./executor.ts";
import { NomadDouble } from "./server.ts";

const { values } = parseArgs({
  options: {
    listen: { type: "string", default: "127.0.0.1:4646" },
    consul: { type: "string" },
    "consul-token": { type: "string" },
    "auto-run": { type: "boolean", default: false },
    "start-after-ms": { type: "string" },
    "run-for-ms": { type: "string" },
    token: { type: "string", multiple: true },
    version: { type: "string" },
    namespace: { type: "string", multiple: true },
    "heartbeat-ms": { type: "string" },
    "agent-config": { type: "string" },
    gpus: { type: "string" },
  },
});

const [host = "127.0.0.1", port = "4646"] = (values.listen ?? "").split(/:(?=\d+$)/);
const runFor = values["run-for-ms"] ? Number(values["run-for-ms"]) : undefined;
const startAfter = values["start-after-ms"] ? Number(values["start-after-ms"]) : undefined;
const double = new NomadDouble({
  host,
  port: Number(port),
  recordRequests: false, // read in-process only: nothing reads this process's record
  executor: values["auto-run"]
    ? new SimulatedExecutor({
        ...(runFor !== undefined ? { runForMs: runFor } : {}),
        ...(startAfter !== undefined ? { startAfterMs: startAfter } : {}),
      })
    : new ScriptedExecutor(),
  ...(values.consul ? { consul: values.consul } : {}),
  ...(values["consul-token"] ? { consulToken: values["consul-token"] } : {}),
  ...(values.token ? { tokens: values.token } : {}),
  ...(values.version ? { version: values.version } : {}),
  ...(values.namespace ? { namespaces: values.namespace } : {}),
  ...(values["heartbeat-ms"] ? { heartbeatMs: Number(values["heartbeat-ms"]) } : {}),
  ...(values["agent-config"]
    ? {
        nodes: [
          nodeFromAgentConfig(
            readFileSync(values["agent-config"], "utf8"),
            values.gpus ? { gpus: Number(values.gpus) } : {},
          ),
        ],
      }
    : {}),
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
