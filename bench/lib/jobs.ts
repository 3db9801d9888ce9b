// The benchmark's TrainingJobs: `count` YAML files in 100 shard folders (10 namespaces), each a
// small single-replica run with a metrics port; edits change one env value (a new run). Also the
// register body the operator would send for a file (validated and defaulted as the source does,
// rendered by the Nomad scheduler's renderJob), for the curl comparison.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import type { NomadJob } from "../../src/clients/nomad/types.ts";
import { renderJob } from "../../src/scheduler/nomad/render.ts";
import { runIdFor, runSpecHash, specHash } from "../../src/trainingjob/hash.ts";

export const NAMESPACES = Array.from({ length: 10 }, (_, i) => `team-${i}`);

export interface JobRef {
  readonly index: number;
  readonly name: string;
  readonly namespace: string;
  readonly file: string;
}

export function jobRef(dir: string, index: number): JobRef {
  return {
    index,
    name: `job-${index}`,
    namespace: NAMESPACES[index % NAMESPACES.length] as string,
    file: join(dir, `shard-${index % 100}`, `job-${index}.yaml`),
  };
}

export function jobYaml(ref: JobRef, dataset = `/data/set-${ref.index}`): string {
  return `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata:
  name: ${ref.name}
  namespace: ${ref.namespace}
  labels: {team: t${ref.index % 10}}
spec:
  image: registry.local/train:1.0
  command: ["python", "train.py"]
  args: ["--epochs", "10", "--lr", "0.001"]
  env:
    - {name: DATASET, value: ${dataset}}
  replicas: 1
  resources: {cpu: 500, memoryMB: 1024, gpus: 0}
  metrics: {port: 9100}
`;
}

/** Writes `count` job files under `dir`; returns their refs. */
export function writeJobs(dir: string, count: number): JobRef[] {
  const refs: JobRef[] = [];
  for (let i = 0; i < count; i++) {
    const ref = jobRef(dir, i);
    if (i < 100) mkdirSync(join(dir, `shard-${i % 100}`), { recursive: true });
    writeFileSync(ref.file, jobYaml(ref));
    refs.push(ref);
  }
  return refs;
}

/** The `{"Job": ...}` body of POST /v1/jobs for a job file, generation 1, as the operator renders it. */
export function registerBody(ref: JobRef, ownerId: string): { Job: NomadJob } {
  const checked = validateDocument(parse(readFileSync(ref.file, "utf8")));
  if (!checked.ok) throw new Error(`${ref.file}: ${checked.issues.map((i) => i.message).join("; ")}`);
  const job = checked.resource as TrainingJob;
  const key = makeKey("TrainingJob", ref.namespace, ref.name);
  const runSpec = runSpecHash(job.spec);
  return {
    Job: renderJob({
      key: { kind: "TrainingJob", namespace: ref.namespace, name: ref.name },
      ownerId,
      runId: runIdFor(key, 1, runSpec),
      generation: 1,
      specHash: specHash(job.spec),
      runSpecHash: runSpec,
      spec: job.spec,
    }),
  };
}
