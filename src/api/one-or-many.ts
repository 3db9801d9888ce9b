// One value held as itself, an array only for several: what most holders have is one (a claim per
// key, an allocation per job), and a one-element array beside it is ~56 bytes each, 0.5 MB at
// 10,000 resources. For object values only, so that an array always means "several" (or none).
export type OneOrMany<T extends object> = T | T[];

/** `values` as kept: the one value itself, else the array (none, or several). */
export function oneOrMany<T extends object>(values: T[]): OneOrMany<T> {
  return values.length === 1 ? (values[0] as T) : values;
}

/** The values held, as a list. */
export function listOf<T extends object>(held: OneOrMany<T> | readonly T[]): readonly T[] {
  return Array.isArray(held) ? held : [held as T];
}

export function countOf<T extends object>(held: OneOrMany<T> | undefined): number {
  return held === undefined ? 0 : Array.isArray(held) ? held.length : 1;
}
