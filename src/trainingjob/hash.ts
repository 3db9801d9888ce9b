// Spec hashes and run ids. The whole-spec hash detects in-place updates; the run-spec hash (the spec
// without the in-place fields) decides when a change starts a new run. Run ids are deterministic in
// (generation, run-spec hash), so a crash between submitting a run and recording it finds the same
// run again instead of starting a second one.
import { createHash } from "node:crypto";
import type { TrainingJobSpec } from "../api/generated/types.ts";
import { IN_PLACE_FIELDS } from "./model.ts";

/** JSON with object keys sorted at every level: equal data, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

export function hashOf(value: unknown, length = 16): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, length);
}

export function specHash(spec: TrainingJobSpec): string {
  return hashOf(spec);
}

export function runSpecOf(spec: TrainingJobSpec): Partial<TrainingJobSpec> {
  const copy: Record<string, unknown> = { ...spec };
  for (const field of IN_PLACE_FIELDS) delete copy[field];
  return copy as Partial<TrainingJobSpec>;
}

export function runSpecHash(spec: TrainingJobSpec): string {
  return hashOf(runSpecOf(spec));
}

/** `g<generation>-<hash>`: unique per run, the same after a crash and restart. */
export function runIdFor(key: string, generation: number, runSpec: string): string {
  return `g${generation}-${hashOf(`${key}|${runSpec}`, 8)}`;
}
