// A run's progress in status (pure): status.progress keeps the last reading and when it last moved,
// and ProgressStalled (present only while True) says a running run has not moved for
// spec.progressDeadlineSeconds.

import type { ConditionInput } from "../api/conditions.ts";
import { isoTime } from "../api/iso-time.ts";
import type { RunProgress } from "./ports.ts";

export interface ProgressStatus {
  ratio?: number;
  epoch?: number;
  /** When ratio or epoch last changed. */
  updatedAt: string;
}

export const PROGRESS_STALLED = "ProgressStalled";

/** The previous progress, moved on by a reading: updatedAt changes only when ratio or epoch does. */
export function nextProgress(
  previous: ProgressStatus | undefined,
  reading: RunProgress | undefined,
  now: Date,
): ProgressStatus | undefined {
  if (!reading) return previous;
  if (previous && previous.ratio === reading.ratio && previous.epoch === reading.epoch) return previous;
  return {
    ...(reading.ratio !== undefined ? { ratio: reading.ratio } : {}),
    ...(reading.epoch !== undefined ? { epoch: reading.epoch } : {}),
    updatedAt: isoTime(now),
  };
}

/**
 * ProgressStalled=True when the run has been running for longer than the deadline and its progress
 * has not moved for as long (counted from the last change, or from when it started running when it
 * never reported any); undefined otherwise.
 */
export function progressStalled(input: {
  readonly deadlineSeconds: number | undefined;
  readonly progress: ProgressStatus | undefined;
  /** When the run started running (the Ready=True transition of the Running phase). */
  readonly runningSince: string | undefined;
  readonly now: Date;
}): ConditionInput | undefined {
  const { deadlineSeconds, progress, runningSince, now } = input;
  if (deadlineSeconds === undefined) return undefined;
  const times = [ms(progress?.updatedAt), ms(runningSince)].filter(Number.isFinite);
  if (times.length === 0) return undefined;
  const since = Math.max(...times);
  const still = (now.getTime() - since) / 1000;
  if (still < deadlineSeconds) return undefined;
  const at = new Date(since).toISOString();
  return {
    type: PROGRESS_STALLED,
    status: "True",
    reason: "ProgressDeadlineExceeded",
    message: progress
      ? `progress has not moved for ${Math.floor(still)}s (${describeProgress(progress)} since ${at}; progressDeadlineSeconds ${deadlineSeconds})`
      : `no progress reported for ${Math.floor(still)}s of running (progressDeadlineSeconds ${deadlineSeconds}); does the run export mlops_training_progress_ratio?`,
  };
}

/** "45% epoch 9", "epoch 3" or "45%": the PROGRESS column and messages. */
export function describeProgress(progress: { ratio?: number; epoch?: number } | undefined): string {
  if (!progress) return "<none>";
  const parts: string[] = [];
  if (typeof progress.ratio === "number") parts.push(`${Math.floor(progress.ratio * 100)}%`);
  if (typeof progress.epoch === "number") parts.push(`epoch ${progress.epoch}`);
  return parts.length > 0 ? parts.join(" ") : "<none>";
}

function ms(time: string | undefined): number {
  return time === undefined ? Number.NaN : Date.parse(time);
}
