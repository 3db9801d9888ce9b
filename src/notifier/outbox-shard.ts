// One shard of the notification record, as stored: the notifications sent (id → when the delivery
// ended), those still to send (id → payload), and per resource the last phase a transition was
// recorded for (with its run), which lets a new leader that never saw a resource tell a transition
// already recorded from a new one. Pure: merging two writers' shards and keeping one within bounds.
import type { Payload } from "./select.ts";

export interface ShardFile {
  readonly sent?: Record<string, string>;
  readonly pending?: Record<string, Payload>;
  readonly phases?: Record<string, LastPhase>;
}

export interface LastPhase {
  readonly run: string;
  readonly phase: string | null;
}

/** Maps keep insertion order: the oldest entry is first. */
export interface Shard {
  readonly sent: Map<string, string>;
  readonly pending: Map<string, Payload>;
  readonly phases: Map<string, LastPhase>;
}

export interface ShardBounds {
  /** Sent ids kept (oldest dropped first). */
  readonly sent: number;
  /** Resources whose last phase is kept (least recently changed dropped first). */
  readonly phases: number;
  /** The largest JSON text of a shard (Consul KV: 512 KiB). */
  readonly bytes: number;
}

export const emptyShard = (): Shard => ({ sent: new Map(), pending: new Map(), phases: new Map() });

export function shardOf(file: ShardFile | null | undefined): Shard {
  return {
    sent: new Map(Object.entries(file?.sent ?? {})),
    pending: new Map(Object.entries(file?.pending ?? {})),
    phases: new Map(Object.entries(file?.phases ?? {})),
  };
}

export function shardFile(shard: Shard): ShardFile {
  return {
    sent: Object.fromEntries(shard.sent),
    pending: Object.fromEntries(shard.pending),
    phases: Object.fromEntries(shard.phases),
  };
}

/**
 * What both writers recorded: every id either sent is sent; a pending one stays pending unless
 * either sent it; a resource's last phase is ours where we recorded one (we write last), else theirs.
 */
export function mergeShards(ours: Shard, theirs: Shard): Shard {
  const sent = new Map(theirs.sent);
  for (const [id, at] of ours.sent) sent.set(id, at);
  const pending = new Map<string, Payload>();
  for (const [id, payload] of [...theirs.pending, ...ours.pending])
    if (!sent.has(id)) pending.set(id, payload);
  const phases = new Map(theirs.phases);
  for (const [key, last] of ours.phases) {
    phases.delete(key);
    phases.set(key, last);
  }
  return { sent, pending, phases };
}

/**
 * The shard as stored, within `bounds`: the oldest sent ids go first, then the least recently changed
 * resources' phases. Pending notifications are never dropped: undefined when they alone are over.
 */
export function boundedFile(shard: Shard, bounds: ShardBounds): ShardFile | undefined {
  trimOldest(shard.sent, bounds.sent);
  trimOldest(shard.phases, bounds.phases);
  let file = shardFile(shard);
  for (;;) {
    const over = Buffer.byteLength(JSON.stringify(file), "utf8") - bounds.bytes;
    if (over <= 0) return file;
    // Drop about what is over (entries are tens of bytes), from the longer list first.
    const drop = Math.max(1, Math.ceil(over / 64));
    if (shard.sent.size === 0 && shard.phases.size === 0) return undefined;
    if (shard.sent.size >= shard.phases.size) trimOldest(shard.sent, Math.max(0, shard.sent.size - drop));
    else trimOldest(shard.phases, Math.max(0, shard.phases.size - drop));
    file = shardFile(shard);
  }
}

function trimOldest(map: Map<string, unknown>, keep: number): void {
  for (const key of map.keys()) {
    if (map.size <= keep) return;
    map.delete(key);
  }
}
