// Spec hashes and run ids. The whole-spec hash detects in-place updates; the run-spec hash (the spec
// without the in-place fields) decides when a change starts a new run. Run ids are deterministic in
// (generation, run-spec hash), so a crash between submitting a run and recording it finds the same
// run again instead of starting a second one.

import type { TrainingJobSpec } from "../api/generated/types.ts";
import { hashOf, specHashOf } from "../api/hash.ts";
import { interner } from "../api/intern.ts";
import { IN_PLACE_FIELDS } from "./model.ts";

export function specHash(spec: TrainingJobSpec): string {
  return specHashOf(spec);
}

export function runSpecOf(spec: TrainingJobSpec): Partial<TrainingJobSpec> {
  const copy: Record<string, unknown> = { ...spec };
  for (const field of IN_PLACE_FIELDS) delete copy[field];
  return copy as Partial<TrainingJobSpec>;
}

/**
 * With restartOnSecretChange, the hash of the referenced values counts as part of the run's spec: a
 * changed secret then starts a new run. Without it (the default), a run keeps the values it started with.
 */
export function runSpecHash(spec: TrainingJobSpec, secretsHash?: string): string {
  if (spec.restartOnSecretChange && secretsHash !== undefined)
    return interner.intern(hashOf({ ...runSpecOf(spec), secretsHash }));
  // Once per spec object, as specHash (specs are never changed in place).
  let hash = runSpecHashes.get(spec);
  if (hash === undefined) {
    hash = interner.intern(hashOf(runSpecOf(spec)));
    runSpecHashes.set(spec, hash);
  }
  return hash;
}

const runSpecHashes = new WeakMap<TrainingJobSpec, string>();

/** `g<generation>-<hash>`: unique per run, the same after a crash and restart. */
export function runIdFor(key: string, generation: number, runSpec: string): string {
  return interner.intern(`g${generation}-${hashOf(`${key}|${runSpec}`, 8)}`);
}
