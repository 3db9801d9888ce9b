// Shared set-up for the tests against the real Docker engine: a scheduler with its own owner id and
// test labels, run builders, bounded waits, and a cleanup that removes everything the owner made.
import { randomBytes } from "node:crypto";
import type { TrainingJobSpec } from "../../src/api/generated/types.ts";
import {
  type ConnectedDocker,
  connectDocker,
  type DockerConnection,
} from "../../src/clients/docker/connect.ts";
import { LABEL } from "../../src/clients/docker/labels.ts";
import { DockerScheduler } from "../../src/scheduler/docker/scheduler.ts";
import type { ObservedRun, RunRequest } from "../../src/scheduler/port.ts";

export const TRAINER_IMAGE = process.env.MLOPS_TRAINER_IMAGE ?? "mlops-operator/trainer:dev";
export const TEST_LABELS = { "mlops.dev/test": "true" } as const;

export interface Harness {
  readonly conn: ConnectedDocker;
  readonly ownerId: string;
  readonly scheduler: DockerScheduler;
  /** Another scheduler on the same engine (a restarted operator, or another owner). */
  another(ownerId?: string): Promise<DockerScheduler>;
  run(name: string, spec?: Partial<TrainingJobSpec>, overrides?: Partial<RunRequest>): RunRequest;
  /** Observes until `done` holds (bounded). */
  until(
    key: RunRequest["key"],
    done: (o: ObservedRun | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<ObservedRun | undefined>;
  containersOf(
    key: RunRequest["key"],
  ): Promise<{ Id: string; State: string; Labels: Record<string, string> }[]>;
  cleanup(): Promise<void>;
}

export async function dockerHarness(suite: string): Promise<Harness> {
  const conn = await connectDocker();
  const ownerId = `it-${suite}-${randomBytes(3).toString("hex")}`;
  const labels = { ...TEST_LABELS, "mlops.dev/test-suite": suite };
  const schedulers: DockerScheduler[] = [];
  const make = (owner: string, c: DockerConnection): DockerScheduler => {
    const s = new DockerScheduler({
      connection: c,
      ownerId: owner,
      extraLabels: labels,
      stopTimeoutSeconds: 2,
    });
    schedulers.push(s);
    return s;
  };
  const scheduler = make(ownerId, conn);
  const owners = new Set([ownerId]);
  return {
    conn,
    ownerId,
    scheduler,
    async another(owner = ownerId) {
      owners.add(owner);
      return make(owner, await connectDocker());
    },
    run(name, spec = {}, overrides = {}) {
      return {
        key: { kind: "TrainingJob", namespace: "it", name: `${suite}-${name}-${ownerId.slice(-6)}` },
        ownerId,
        runId: "g1-run",
        generation: 1,
        specHash: "spec-1",
        runSpecHash: "run-1",
        spec: {
          image: TRAINER_IMAGE,
          replicas: 1,
          resources: { cpu: 250, memoryMB: 64, gpus: 0 },
          priority: 50,
          backoffLimit: 0,
          suspend: false,
          ...spec,
        },
        ...overrides,
      };
    },
    async until(key, done, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: ObservedRun | undefined;
      while (Date.now() < deadline) {
        last = await scheduler.observe(key);
        if (done(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out after ${timeoutMs} ms; last observed: ${JSON.stringify(last)}`);
    },
    async containersOf(key) {
      const list = await conn.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL.key}=TrainingJob/${key.namespace}/${key.name}`] },
      });
      return list.map((c) => ({ Id: c.Id, State: c.State, Labels: c.Labels }));
    },
    async cleanup() {
      for (const owner of owners) {
        const list = await conn.docker.listContainers({
          all: true,
          filters: { label: [`${LABEL.ownerId}=${owner}`] },
        });
        await Promise.all(
          list.map((c) =>
            conn.docker
              .getContainer(c.Id)
              .remove({ force: true, v: true })
              .catch(() => undefined),
          ),
        );
      }
      const byHand = await conn.docker.listContainers({
        all: true,
        filters: { label: [`mlops.dev/test-suite=${suite}`] },
      });
      await Promise.all(
        byHand.map((c) =>
          conn.docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
      await Promise.all(schedulers.map((s) => s.close()));
    },
  };
}

export const env = (vars: Record<string, string | number>): { name: string; value: string }[] =>
  Object.entries(vars).map(([name, value]) => ({ name, value: String(value) }));
