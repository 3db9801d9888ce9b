// Field-level differences between two plain values, as `plan` prints them (spec.image: a → b).
import { formatPath } from "./errors.ts";

export interface FieldChange {
  readonly path: readonly (string | number)[];
  readonly from: unknown;
  readonly to: unknown;
}

export function fieldDiff(
  from: unknown,
  to: unknown,
  path: readonly (string | number)[] = [],
): FieldChange[] {
  if (Object.is(from, to)) return [];
  if (isRecord(from) && isRecord(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    return keys.flatMap((key) => fieldDiff(from[key], to[key], [...path, key]));
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length === to.length) {
    return from.flatMap((value, i) => fieldDiff(value, to[i], [...path, i]));
  }
  if (JSON.stringify(from) === JSON.stringify(to)) return [];
  return [{ path, from, to }];
}

export function formatChange(change: FieldChange): string {
  const show = (value: unknown) => (value === undefined ? "(unset)" : JSON.stringify(value));
  return `${formatPath(change.path)}: ${show(change.from)} → ${show(change.to)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
