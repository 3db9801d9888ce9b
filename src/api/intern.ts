// One copy of each repeated string value in the objects the operator keeps per resource (parsed
// resources, status records, cached Nomad jobs and allocations): JSON and YAML parsers make a new
// string for every value, so 10,000 resources with the same image, command, node name or condition
// message hold 10,000 copies of each (23 MB of a 140 MB heap at 10,000 resources). Bounded: at most
// MAX_ENTRIES strings of at most MAX_LENGTH characters; a full table starts over, so values that
// stop recurring do not stay, and those that recur are learned again at once.
// A value is kept from its second sighting on: most values are seen once (a job's id, its run id,
// an allocation's id, an env value naming the job), and keeping those saved nothing but cost a table
// entry each, and the key of a shared shape its JSON: at the end of `run --once` over 10,000 jobs the
// tables held ~10,000 such values each, 1.7 MB (docs/benchmarks.md, round 29). A string seen once is
// held for a while among the last RECENT_ENTRIES first sightings, and given to the sightings that
// follow close together (a record's spec hash and its run's, a status's timestamps: one string, and
// no entry in the table for a value that does not recur later); past that window, a filter of bits
// (Sightings) remembers it without holding it, and its next sighting is kept in the table (its
// earlier holders keeping their own copy). A shape seen once is not kept at all (the filter only).
const MAX_LENGTH = 200;
const MAX_ENTRIES = 20_000;
/** First sightings of strings held, at most (a full window starts over). */
const RECENT_ENTRIES = 4_096;
/**
 * V8 makes a string cut out of another (a YAML parser's scalar, from the file's text) a slice that
 * keeps the whole text alive, from 13 characters on (SlicedString::kMinLength). The table keeps its
 * own flat copy of such a value (JSON's round trip makes one): 10,000 resources' file texts, ~4 MB,
 * were held by one env value each.
 */
const SLICE_MIN_LENGTH = 13;

export interface InternOptions {
  /**
   * The value is a resource or a status record whose `spec`, labels and annotations are never
   * changed in place: the plain objects inside the spec whose members are all primitives
   * (`resources`, `metrics`, an env entry), and the labels and annotations, are shared frozen too,
   * as arrays are everywhere.
   */
  readonly spec?: boolean;
}

/** The most elements (or members) a shared array (or object) has, and its longest key (characters of JSON). */
const MAX_SHARED_ELEMENTS = 32;
const MAX_SHARED_KEY = 1_000;

export class StringInterner {
  #table = new Map<string, string>();
  /** Strings seen once, lately (not in #table). */
  #recent = new Map<string, string>();
  /**
   * Frozen arrays of primitives, and plain objects of primitives inside specs, by their JSON: one
   * `command`, `args` or `resources` for every job that has it.
   */
  #shapes = new Map<string, object>();
  readonly #maxEntries: number;
  /** At most this many recent first sightings (0: none held, a value is kept at its second sighting). */
  readonly #maxRecent: number;
  /** What was seen and not kept: strings, and the JSON of shapes (hashed with another salt). */
  readonly #seen: Sightings;

  constructor(maxEntries = MAX_ENTRIES, maxRecent = RECENT_ENTRIES) {
    this.#maxEntries = maxEntries;
    this.#maxRecent = maxRecent;
    this.#seen = new Sightings(2 * maxEntries);
  }

  get size(): number {
    return this.#table.size;
  }

  intern(value: string): string {
    if (value.length > MAX_LENGTH) return value;
    const known = this.#table.get(value);
    if (known !== undefined) return known;
    const recent = this.#recent.get(value);
    if (recent !== undefined) return recent;
    const own = value.length >= SLICE_MIN_LENGTH ? (JSON.parse(JSON.stringify(value)) as string) : value;
    if (this.#seen.again(value, 0)) {
      if (this.#table.size >= this.#maxEntries) this.#table = new Map();
      this.#table.set(own, own);
    } else if (this.#maxRecent > 0) {
      if (this.#recent.size >= this.#maxRecent) this.#recent = new Map();
      this.#recent.set(own, own);
    }
    return own;
  }

  /**
   * Replaces, in place, every string value inside plain objects and arrays, and every array inside
   * by a copy of exactly its length; returns `value`. A parser's arrays grow by `push`, which leaves
   * room for 17 elements: 152 bytes for a two-element `command` that needs 32 (~350 bytes per
   * TrainingJob). The arrays are replaced, so `value` must be the caller's own, not yet shared.
   * A non-empty array of strings, booleans, nulls and finite numbers (a `command`, `args`) becomes
   * one frozen array shared by every value that holds the same elements (the resource's spec, its
   * status record's copy, the next job of a sweep): ~270 bytes per TrainingJob at 10,000. Such an
   * array is never changed in place (a change throws); empty ones are left alone.
   */
  internAll<T>(value: T, options: InternOptions = {}): T {
    this.#walk(value, 0, false, options.spec === true);
    return value;
  }

  /** A copy of `array` exactly as long (`slice`), walked; the shared one if it holds only primitives. */
  #tight(array: unknown[], depth: number, objects: boolean): unknown[] {
    const copy = array.slice();
    this.#walk(copy, depth, objects, false);
    return this.#shared(copy, copy.length);
  }

  /**
   * `value`, a tree of arrays and plain objects over primitives (a compact Nomad job's task groups),
   * or the one deep-frozen tree with the same JSON that every holder shares: the jobs of a sweep, or
   * any jobs of one shape, hold one (~210 bytes a job at 10,000). Anything else (an undefined member,
   * a class instance, a tree deeper than 8 or whose JSON is longer than 4,000 characters) comes back
   * as it is. The tree kept is a frozen copy made from that JSON: `value` itself, whose parts may
   * be another holder's (a job read from Nomad), is never frozen.
   */
  shareTree<T>(value: T): T {
    if (value === null || typeof value !== "object" || !isPlainTree(value, 0)) return value;
    const key = JSON.stringify(value);
    if (key.length > MAX_SHARED_TREE_KEY) return value;
    const known = this.#shapes.get(key);
    if (known !== undefined) return known as T;
    if (!this.#seen.again(key, 1)) return value;
    return this.#keep(key, deepFreeze(JSON.parse(key) as object)) as T;
  }

  /** Keeps `value` as the shared one for `key` (a full table starts over); returns it. */
  #keep<V extends object>(key: string, value: V): V {
    if (this.#shapes.size >= this.#maxEntries) this.#shapes = new Map();
    this.#shapes.set(key, value);
    return value;
  }

  /** `value` (an array, or a plain object of `size` members) or the shared one holding the same primitives. */
  #shared<V extends object>(value: V, size: number): V {
    if (size === 0 || size > MAX_SHARED_ELEMENTS || !Object.values(value).every(isPlainPrimitive))
      return value;
    const key = JSON.stringify(value);
    if (key.length > MAX_SHARED_KEY) return value;
    const known = this.#shapes.get(key);
    if (known !== undefined) return known as V;
    if (!this.#seen.again(key, 1)) return value;
    return this.#keep(key, Object.freeze(value));
  }

  /** `objects`: plain objects inside are shared too (within a spec); `spec`: so is the top level's `spec`'s inside. */
  #walk(value: unknown, depth: number, objects: boolean, spec: boolean): void {
    if (value === null || typeof value !== "object" || depth > 64) return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === "string") value[i] = this.intern(item);
        else if (Array.isArray(item)) value[i] = this.#tight(item, depth + 1, objects);
        else if (objects && isPlainObject(item)) value[i] = this.#object(item, depth + 1);
        else this.#walk(item, depth + 1, objects, false);
      }
      return;
    }
    if (!isPlainObject(value)) return; // plain data only
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === "string") record[key] = this.intern(item);
      else if (Array.isArray(item)) record[key] = this.#tight(item, depth + 1, objects);
      else if (objects && isPlainObject(item)) record[key] = this.#object(item, depth + 1);
      else if (spec && depth === 0 && key === "spec" && isPlainObject(item)) {
        const own = inObject(item);
        record[key] = own;
        this.#walk(own, depth + 1, true, false);
      } else {
        this.#walk(item, depth + 1, objects, false);
        if (spec && depth === 0 && key === "metadata" && isPlainObject(item)) this.#sharedMaps(item);
      }
    }
  }

  /** A resource's labels and annotations: shared when their values are all primitives (strings). */
  #sharedMaps(metadata: object): void {
    const meta = metadata as Record<string, unknown>;
    for (const name of ["labels", "annotations"]) {
      const map = meta[name];
      if (isPlainObject(map)) meta[name] = this.#shared(map, Object.keys(map).length);
    }
  }

  /** A plain object inside a spec, walked; the shared one if its members are all primitives. */
  #object(value: object, depth: number): object {
    const own = inObject(value);
    this.#walk(own, depth, true, false);
    return this.#shared(own, Object.keys(own).length);
  }
}

/**
 * A copy of `value` with every member in the object itself, made by a literal of its keys. V8 gives
 * an object built member by member (a YAML parser's mapping, a status assembled field by field) room
 * for 4 members in itself (a literal, for its own count) and puts the rest in a property array of
 * its own (a TrainingJob's spec of 7: ~60 bytes more, 0.6 MB at 10,000); a literal of N keys holds
 * N. Objects of at most 4 members, of more than 32, or with a `__proto__` key (a literal would set
 * the prototype) come back as they are, and so does every object where code generation from strings
 * is disallowed (`--disallow-code-generation-from-strings`). The values are the same values: nothing
 * is converted.
 */
export function inObject<T extends object>(value: T): T {
  return literalCopy(value) as T;
}

function literalCopy(value: object): object {
  const keys = Object.keys(value);
  if (keys.length <= 4 || keys.length > 32 || keys.includes("__proto__")) return value;
  const id = JSON.stringify(keys);
  let make = literals.get(id);
  if (make === undefined) {
    try {
      const members = keys.map((k) => `${JSON.stringify(k)}: v[${JSON.stringify(k)}]`).join(", ");
      make = new Function("v", `return { ${members} };`) as (v: object) => object;
    } catch {
      make = (v) => v; // code generation disallowed
    }
    if (literals.size >= MAX_LITERALS) literals.clear();
    literals.set(id, make);
  }
  return make(value);
}

/** The literals inObject made, by their keys: a handful of shapes (one per kind's spec, and variants). */
const literals = new Map<string, (v: object) => object>();
const MAX_LITERALS = 256;

const MAX_TREE_DEPTH = 8;
const MAX_SHARED_TREE_KEY = 4_000;

/** Arrays and plain objects, at most MAX_TREE_DEPTH deep, whose leaves are all plain primitives. */
function isPlainTree(value: object, depth: number): boolean {
  if (depth > MAX_TREE_DEPTH || !(Array.isArray(value) || isPlainObject(value))) return false;
  for (const item of Object.values(value)) {
    if (isPlainPrimitive(item)) continue;
    if (item === null || typeof item !== "object" || !isPlainTree(item, depth + 1)) return false;
  }
  return true;
}

function deepFreeze<T extends object>(value: T): T {
  for (const item of Object.values(value)) if (item !== null && typeof item === "object") deepFreeze(item);
  return Object.freeze(value);
}

/** A value JSON writes as itself, so that two arrays with the same JSON hold the same elements. */
function isPlainPrimitive(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    default:
      return value === null;
  }
}

function isPlainObject(value: unknown): value is object {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Bits of the Sightings filter: 2^19, 64 KB. */
const SIGHTING_BITS = 1 << 19;

/**
 * The values seen once, as bits (a Bloom filter: two bits per value, from one FNV-1a hash of its
 * text and `salt`), not as strings: `again(text)` answers whether `text` was seen before and marks it
 * seen. It may answer yes for a value never seen (then that value is kept at its first sighting, as
 * every value was before); with 40,000 values marked (then it starts over), about 2 % of them.
 */
class Sightings {
  readonly #bits = new Int32Array(SIGHTING_BITS >>> 5);
  readonly #capacity: number;
  #marked = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  again(text: string, salt: number): boolean {
    let hash = 0x811c9dc5 ^ salt;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    const first = hash & (SIGHTING_BITS - 1);
    const second = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) & (SIGHTING_BITS - 1);
    const bits = this.#bits;
    if (
      (bits[first >>> 5] as number) & (1 << (first & 31)) &&
      (bits[second >>> 5] as number) & (1 << (second & 31))
    )
      return true;
    if (this.#marked >= this.#capacity) {
      bits.fill(0);
      this.#marked = 0;
    }
    bits[first >>> 5] = (bits[first >>> 5] as number) | (1 << (first & 31));
    bits[second >>> 5] = (bits[second >>> 5] as number) | (1 << (second & 31));
    this.#marked++;
    return false;
  }
}

/** The operator's one table (per process). */
export const interner = new StringInterner();
