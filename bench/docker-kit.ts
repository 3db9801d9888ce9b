// Shared pieces of the Docker benchmarks: a scheduler with its own owner id and bench labels,
// run builders, a bounded key queue with N workers, medians, and a cleanup of everything made.
import { randomBytes } from "node:crypto";
import type { TrainingJobSpec } from "../src/api/generated/types.ts";
import { type ConnectedDocker, connectDocker } from "../src/clients/docker/connect.ts";
import { LABEL } from "../src/clients/docker/labels.ts";
import { DockerScheduler } from "../src/scheduler/docker/scheduler.ts";
import type { RunRequest } from "../src/scheduler/port.ts";

export interface Kit {
  readonly conn: ConnectedDocker;
  readonly ownerId: string;
  readonly scheduler: DockerScheduler;
  run(name: string, spec?: Partial<TrainingJobSpec>): RunRequest;
  left(): Promise<number>;
  cleanup(): Promise<void>;
}

export async function dockerKit(bench: string): Promise<Kit> {
  const conn = await connectDocker();
  const ownerId = `bench-${bench}-${randomBytes(3).toString("hex")}`;
  const scheduler = new DockerScheduler({
    connection: conn,
    ownerId,
    extraLabels: { "mlops.dev/test": "true", "mlops.dev/bench": bench },
    stopTimeoutSeconds: 2,
  });
  const list = () =>
    conn.docker.listContainers({ all: true, filters: { label: [`${LABEL.ownerId}=${ownerId}`] } });
  return {
    conn,
    ownerId,
    scheduler,
    run(name, spec = {}) {
      return {
        key: { kind: "TrainingJob", namespace: "bench", name },
        ownerId,
        runId: "g1-bench",
        generation: 1,
        specHash: "s",
        runSpecHash: "r",
        spec: {
          image: process.env.MLOPS_TRAINER_IMAGE ?? "mlops-operator/trainer:dev",
          replicas: 1,
          resources: { cpu: 100, memoryMB: 32, gpus: 0 },
          priority: 50,
          backoffLimit: 0,
          suspend: false,
          env: [
            { name: "EPOCHS", value: "1" },
            { name: "EPOCH_SECONDS", value: "0.5" },
            { name: "METRICS_PORT", value: "0" },
          ],
          ...spec,
        },
      };
    },
    async left() {
      return (await list()).length;
    },
    async cleanup() {
      const leftovers = await list();
      await Promise.all(
        leftovers.map((c) =>
          conn.docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
      await scheduler.close();
    },
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Docker's RFC 3339 time with nanoseconds → epoch milliseconds (with the sub-millisecond part). */
export function dockerTimeMs(t: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(t);
  if (!m) return Date.parse(t);
  const fraction = Number(`0.${m[2] ?? "0"}`);
  return Date.parse(`${m[1]}Z`) + fraction * 1000;
}

/** Samples this process's RSS; returns the peak in MiB. */
export function rssSampler(intervalMs = 50): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
      return Math.round(peak / (1024 * 1024));
    },
  };
}

export const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
