// Bytes that outlive the moment they are made, in a buffer of their own rather than a slice of
// Node's shared pool. Buffer.from(string) and Buffer.from(bytes) below half of Buffer.poolSize
// (64 KB in Node 24) slice one pool slab: a slice that lives across two young-generation
// collections (a request body in flight, a partial line waiting for the next chunk) has its whole
// slab promoted with it, and the slab stays until the next full collection. While 10,000 jobs
// converged, the register bodies' slabs were about half of the ArrayBuffers that each scavenge
// left for the full collection (docs/benchmarks.md, round 30). A buffer of its own is freed with
// its slice: at the scavenge after its last use, or with its own bytes when it was promoted.

/** `text` as UTF-8, in a buffer of its own. */
export function ownBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, "utf8"));
  bytes.write(text, "utf8");
  return bytes;
}

/** A copy of `bytes` from `start` to `end`, in a buffer of its own. */
export function ownCopy(bytes: Uint8Array, start = 0, end = bytes.length): Buffer {
  const copy = Buffer.allocUnsafeSlow(end - start);
  copy.set(bytes.subarray(start, end));
  return copy;
}
