// `mlopsctl run` (bin/mlopsctl, as users run it) in a child process for the safety suites: started
// against a Nomad address with the directory source, its output kept, killed with SIGKILL or
// stopped with SIGTERM; `--once` runs to its exit.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const MLOPSCTL = join(new URL("../../", import.meta.url).pathname, "bin", "mlopsctl");

export interface OperatorArgs {
  readonly dir: string;
  readonly stateDir: string;
  /** Omitted with scheduler docker. */
  readonly nomadAddr?: string;
  /** Default nomad. */
  readonly scheduler?: "nomad" | "docker";
  readonly ownerId: string;
  /** Extra environment: GRAFANA_URL, CONSUL_HTTP_ADDR, DOCKER_HOST. */
  readonly env?: NodeJS.ProcessEnv;
  readonly extra?: readonly string[];
}

export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | string>;
  /** Resolves with the first output line matching `pattern` (undefined if the process exits first). */
  line(pattern: RegExp, timeoutMs: number): Promise<string | undefined>;
  kill(): Promise<number | string>;
  stop(): Promise<number | string>;
}

export function startOperator(args: OperatorArgs, once = false): OperatorProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...args.env };
  delete env.NOMAD_ADDR;
  if (!args.env?.CONSUL_HTTP_ADDR) delete env.CONSUL_HTTP_ADDR;
  if (!args.env?.GRAFANA_URL) delete env.GRAFANA_URL;
  const argv = [
    "run",
    "--dir",
    args.dir,
    "--state-dir",
    args.stateDir,
    "--scheduler",
    args.scheduler ?? "nomad",
    ...(args.nomadAddr ? ["--nomad-addr", args.nomadAddr] : []),
    "--owner-id",
    args.ownerId,
    "--metrics-addr",
    "127.0.0.1:0",
    "--log-format",
    "json",
    "--log-level",
    "info",
    ...(once ? ["--once", "--timeout", "120s"] : []),
    ...(args.extra ?? []),
  ];
  const child = spawn(MLOPSCTL, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string | undefined) => void }>();
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 5_000) lines.shift();
        for (const waiter of waiters) {
          if (waiter.pattern.test(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
    });
  }
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      for (const waiter of waiters) waiter.resolve(undefined);
      waiters.clear();
      resolve(code ?? signal ?? "unknown");
    }),
  );
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return exited;
  };
  return {
    child,
    lines,
    exited,
    line(pattern, timeoutMs) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const waiter = { pattern, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter)) resolve(undefined);
        }, timeoutMs);
      });
    },
    kill: () => signal("SIGKILL"),
    stop: () => signal("SIGTERM"),
  };
}
