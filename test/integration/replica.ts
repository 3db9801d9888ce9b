// `mlopsctl run --leader-elect` as a replica runs it (bin/mlopsctl, a child process) with the short
// timings the failover tests use (lease 2 s, renew deadline 1.5 s, retry 0.5 s, Consul's TTL floor
// 100 ms), its own state directory, the Nomad double as scheduler and Consul at CONSUL_HTTP_ADDR.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const CLI = join(new URL("../../", import.meta.url).pathname, "bin/mlopsctl");
export const LEASE_MS = 2_000;

export interface Replica {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output: string;
  /** http://ADDRESS of its metrics listener, once it said. */
  metrics?: string;
}

export interface ReplicaOptions {
  /** The source's flags (--dir DIR --owner-id ID, or --source kubernetes ...). */
  readonly source: readonly string[];
  readonly stateDir: string;
  readonly nomadAddr: string;
  readonly consulUrl: string;
  readonly xdgStateHome: string;
  readonly extra?: readonly string[];
}

export function startReplica(options: ReplicaOptions): Replica {
  const child = spawn(
    CLI,
    [
      "run",
      "--leader-elect",
      "--leader-elect-lease-duration",
      `${LEASE_MS}ms`,
      "--leader-elect-renew-deadline",
      "1500ms",
      "--leader-elect-retry-period",
      "500ms",
      "--leader-election-session-ttl-min",
      "100ms",
      ...options.source,
      "--state-dir",
      options.stateDir,
      "--scheduler",
      "nomad",
      "--nomad-addr",
      options.nomadAddr,
      "--metrics-addr",
      "127.0.0.1:0",
      ...(options.extra ?? []),
      "--log-format",
      "json",
    ],
    {
      env: { ...process.env, CONSUL_HTTP_ADDR: options.consulUrl, XDG_STATE_HOME: options.xdgStateHome },
      stdio: "pipe",
    },
  );
  const replica: Replica = { child, output: "" };
  const append = (chunk: Buffer) => {
    replica.output += chunk.toString();
    const address = /"metrics":"([^"]+)"/.exec(replica.output)?.[1];
    if (address !== undefined) replica.metrics ??= `http://${address}`;
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return replica;
}

/** Whether the replica said it leads. */
export const leads = (replica: Replica): boolean => replica.output.includes(": leading");
