// A V8 heap snapshot (.heapsnapshot, as Node writes it) read for one question: which objects of the
// operator hold the bytes. Each object is counted once, for the nearest object that dominates it
// (every path to it from the roots passes through that one) and is an instance of a named class
// (ResourceTable, NomadReadCache, ...): what would go if that instance went. Objects no such instance
// dominates (shared by two holders, or held by module scope) are counted apart, by type.
// Dominators by Cooper, Harvey and Kennedy's iterative algorithm ("A Simple, Fast Dominance
// Algorithm", 2001) over the graph without weak edges.
import { readFileSync } from "node:fs";

export interface Holder {
  readonly name: string;
  readonly bytes: number;
  readonly instances: number;
}

export interface HeapOwners {
  /** Self sizes of every object in the snapshot. */
  readonly totalBytes: number;
  /** By holder class, largest first. */
  readonly holders: Holder[];
  /** Objects no class instance dominates, by V8 type (object, string, code, ...), largest first. */
  readonly unowned: { readonly type: string; readonly bytes: number }[];
  /**
   * The same objects by the holder classes they are reached through (none: only from module scope,
   * code and V8's roots), largest first.
   */
  readonly shared: { readonly holders: string[]; readonly bytes: number }[];
  /** Every string; duplicateBytes: what the copies of equal strings beyond one each take. */
  readonly strings: { readonly bytes: number; readonly count: number; readonly duplicateBytes: number };
}

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Class names that say nothing of an owner: plain containers and V8's internals. */
/** A holder class is named in the "reached through" groups when its instances hold this much. */
const SHARED_MIN_BYTES = 256 * 1024;

const GENERIC = new Set([
  "Object",
  "Array",
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "Promise",
  "Generator",
  "Function",
]);

export function heapOwners(path: string): HeapOwners {
  const snap = JSON.parse(readFileSync(path, "utf8")) as Snapshot;
  const { meta } = snap.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const fType = meta.node_fields.indexOf("type");
  const fName = meta.node_fields.indexOf("name");
  const fSelf = meta.node_fields.indexOf("self_size");
  const fEdges = meta.node_fields.indexOf("edge_count");
  const eType = meta.edge_fields.indexOf("type");
  const eTo = meta.edge_fields.indexOf("to_node");
  const nodeTypes = meta.node_types[0];
  const skipped = new Set([meta.edge_types[0].indexOf("weak"), meta.edge_types[0].indexOf("shortcut")]);
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nodeFields;
  const type = (n: number) => nodeTypes[nodes[n * nodeFields + fType] as number] as string;
  const name = (n: number) => strings[nodes[n * nodeFields + fName] as number] as string;
  const self = (n: number) => nodes[n * nodeFields + fSelf] as number;

  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0, e = 0; n < count; n++) {
    firstEdge[n] = e;
    e += (nodes[n * nodeFields + fEdges] as number) * edgeFields;
  }
  firstEdge[count] = edges.length;
  const targets = function* (n: number): Generator<number> {
    for (let e = firstEdge[n] as number; e < (firstEdge[n + 1] as number); e += edgeFields)
      if (!skipped.has(edges[e + eType] as number)) yield (edges[e + eTo] as number) / nodeFields;
  };

  // Postorder from the root (node 0), iteratively.
  const post = new Int32Array(count).fill(-1);
  const order: number[] = [];
  const seen = new Uint8Array(count);
  const stack: [number, Generator<number>][] = [[0, targets(0)]];
  seen[0] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as [number, Generator<number>];
    const next = top[1].next();
    if (next.done) {
      stack.pop();
      post[top[0]] = order.length;
      order.push(top[0]);
    } else if (!seen[next.value]) {
      seen[next.value] = 1;
      stack.push([next.value, targets(next.value)]);
    }
  }
  const predecessors: number[][] = Array.from({ length: count }, () => []);
  for (const n of order) for (const to of targets(n)) (predecessors[to] as number[]).push(n);
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while ((post[a] as number) < (post[b] as number)) a = idom[a] as number;
      while ((post[b] as number) < (post[a] as number)) b = idom[b] as number;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = order.length - 2; k >= 0; k--) {
      const n = order[k] as number;
      let dom = -1;
      for (const p of predecessors[n] as number[]) {
        if (idom[p] === -1) continue;
        dom = dom === -1 ? p : intersect(p, dom);
      }
      if (dom !== -1 && idom[n] !== dom) {
        idom[n] = dom;
        changed = true;
      }
    }
  }

  // Each object's owner: itself when it is a named class's instance, else its dominator's owner.
  const isHolder = (n: number) =>
    type(n) === "object" && /^[A-Z][A-Za-z0-9]+$/.test(name(n)) && !GENERIC.has(name(n));
  const owner = new Int32Array(count).fill(0);
  const holders = new Map<string, { bytes: number; instances: Set<number> }>();
  const unowned = new Map<string, number>();
  let totalBytes = 0;
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k] as number;
    const dom = idom[n] as number;
    owner[n] = isHolder(n) ? n : n === 0 || dom === 0 ? 0 : (owner[dom] as number);
  }
  for (const n of order) {
    totalBytes += self(n);
    const o = owner[n] as number;
    if (o === 0) {
      unowned.set(type(n), (unowned.get(type(n)) ?? 0) + self(n));
      continue;
    }
    const entry = holders.get(name(o)) ?? { bytes: 0, instances: new Set<number>() };
    entry.bytes += self(n);
    entry.instances.add(o);
    holders.set(name(o), entry);
  }

  // What no one instance dominates is reached from several: the holder classes it is reached
  // through (those holding SHARED_MIN_BYTES or more; Node's own small ones would be everywhere), as
  // the union of its retainers' classes (roots first: a retainer comes before what it holds in
  // reverse postorder, but for cycles).
  const bits = new Map<string, number>();
  for (const [holder, { bytes }] of [...holders].sort((a, b) => b[1].bytes - a[1].bytes))
    if (bytes >= SHARED_MIN_BYTES && bits.size < 31) bits.set(holder, bits.size);
  const bitOf = (holder: string): number => {
    const bit = bits.get(holder);
    return bit === undefined ? 0 : 1 << bit;
  };
  const reached = new Uint32Array(count);
  const shared = new Map<number, number>();
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k] as number;
    const o = owner[n] as number;
    if (o !== 0) {
      reached[n] = bitOf(name(o));
      if (reached[n] !== 0) continue;
    }
    let mask = 0;
    for (const p of predecessors[n] as number[]) mask |= reached[p] as number;
    reached[n] = mask;
    if (o === 0) shared.set(mask, (shared.get(mask) ?? 0) + self(n));
  }
  const classes = (mask: number): string[] =>
    mask === 0 ? [] : [...bits].filter(([, bit]) => (mask & (1 << bit)) !== 0).map(([holder]) => holder);

  const copies = new Map<string, { bytes: number; count: number }>();
  let stringBytes = 0;
  let stringCount = 0;
  for (let n = 0; n < count; n++) {
    if (type(n) !== "string") continue;
    stringBytes += self(n);
    stringCount++;
    const entry = copies.get(name(n)) ?? { bytes: 0, count: 0 };
    entry.bytes += self(n);
    entry.count++;
    copies.set(name(n), entry);
  }
  let duplicateBytes = 0;
  for (const { bytes, count: n } of copies.values()) duplicateBytes += bytes - bytes / n;

  return {
    totalBytes,
    holders: [...holders]
      .map(([holder, { bytes, instances }]) => ({ name: holder, bytes, instances: instances.size }))
      .sort((a, b) => b.bytes - a.bytes),
    unowned: [...unowned].map(([t, bytes]) => ({ type: t, bytes })).sort((a, b) => b.bytes - a.bytes),
    shared: [...shared]
      .map(([mask, bytes]) => ({ holders: classes(mask), bytes }))
      .sort((a, b) => b.bytes - a.bytes),
    strings: { bytes: stringBytes, count: stringCount, duplicateBytes },
  };
}
