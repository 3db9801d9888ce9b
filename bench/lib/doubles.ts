// API doubles (test/doubles/<system>/main.ts) in their own processes on loopback, port chosen by
// the kernel and read from the double's "listening on http://..." line.
import { type Child, startChild } from "./child.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const NODE = `${ROOT}node_modules/.bin/node`;

export interface DoubleProcess {
  readonly address: string;
  readonly child: Child;
}

export async function startDouble(
  system: "nomad" | "consul" | "grafana",
  args: readonly string[] = [],
): Promise<DoubleProcess> {
  const child = startChild(
    NODE,
    [
      "--disable-warning=ExperimentalWarning",
      // MLOPS_BENCH_DOUBLE_PROF=DIR: the double writes a V8 CPU profile into DIR at exit.
      ...(process.env.MLOPS_BENCH_DOUBLE_PROF
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.MLOPS_BENCH_DOUBLE_PROF}`]
        : []),
      `${ROOT}test/doubles/${system}/main.ts`,
      "--listen",
      "127.0.0.1:0",
      ...args,
    ],
    { name: `${system} double` },
  );
  const line = await child.waitForLine(/listening on http:\/\//, 15_000);
  const address = /(http:\/\/[^\s]+)/.exec(line)?.[1];
  if (!address) throw new Error(`${system} double: no address in ${JSON.stringify(line)}`);
  return { address: address.replace(/\/$/, ""), child };
}
