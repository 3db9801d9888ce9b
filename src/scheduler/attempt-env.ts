// The environment every attempt of a run starts with, on every scheduler: which run, which attempt
// (1, 2, …: each retry is a new allocation or container submitted with the next number, so the
// number is always right; in-place restarts are off), and where checkpoints live (the mount path of
// the volume marked `checkpoint: true`).
import type { RunRequest } from "./port.ts";

export const ATTEMPT_ENV = {
  runId: "MLOPS_RUN_ID",
  attempt: "MLOPS_ATTEMPT",
  checkpointDir: "MLOPS_CHECKPOINT_DIR",
} as const;

export function attemptEnv(run: RunRequest): Record<string, string> {
  const checkpoint = (run.spec.volumes ?? []).find((v) => v.checkpoint === true);
  return {
    [ATTEMPT_ENV.runId]: run.runId,
    [ATTEMPT_ENV.attempt]: String(run.attempt ?? 1),
    ...(checkpoint ? { [ATTEMPT_ENV.checkpointDir]: checkpoint.mountPath } : {}),
  };
}
