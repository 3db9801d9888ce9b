// What was sent, and what is still to send, per notification id, with each resource's last
// transition recorded: in shared operator state (api/shared-state.ts), written before a delivery
// starts and after it ends. Alone, the state directory's `notifications.json` (one shard); with
// --leader-elect, Consul KV beside the lock (directory source) or ConfigMaps beside the Lease
// (Kubernetes source), in shards (one value each, by resource, each kept under 512 KiB), read by a
// new leader before it sends anything.
//
// A transition is recorded once: a resource whose last recorded phase (same run) is already the new
// one is not notified again (a new leader that never saw it reports undefined → Running), and its
// previous phase is the recorded one, so its id is what the old leader recorded. An id already
// pending or sent is refused. So neither a restart nor a failover repeats a delivered notification
// or loses one not delivered yet (pending ones are sent again when the outbox is opened: at least once).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OperatorError } from "../api/errors.ts";
import type { SharedState } from "../api/shared-state.ts";
import { FileSharedState } from "../sources/state/index.ts";
import { boundedFile, emptyShard, mergeShards, type Shard, type ShardFile, shardOf } from "./outbox-shard.ts";
import type { Payload } from "./select.ts";

/** Ids of delivered notifications kept for deduplication, over all shards (oldest dropped first). */
export const SENT_KEPT = 10_000;
/** Resources whose last recorded transition is kept, over all shards. */
export const PHASES_KEPT = 10_000;
/** Shards in shared state (Consul KV, ConfigMaps): 16 values of at most 512 KiB hold the bounds above with room for pending ones. */
export const NOTIFICATION_SHARDS = 16;
const KEY = "notifications";
const CONFLICT_RETRIES = 5;

export interface OutboxOptions {
  /** Keys the record is spread over (default 1: the key `notifications`; else `notifications/<n>`). */
  readonly shards?: number;
}

/** A phase change of one resource, for the record. */
export interface Transition {
  /** kind/namespace/name */
  readonly resource: string;
  /** The run it belongs to ("" for a kind without runs). */
  readonly run: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

interface Slot {
  shard: Shard;
  version: number;
  writing: Promise<void>;
  queued: Promise<void> | undefined;
}

export class Outbox {
  readonly #state: SharedState;
  readonly #slots: Slot[];

  /** The state directory's `notifications.json`, read now (one process). */
  constructor(stateDir: string);
  constructor(state: SharedState, options?: OutboxOptions);
  constructor(where: string | SharedState, options: OutboxOptions = {}) {
    const shards = typeof where === "string" ? 1 : Math.max(1, options.shards ?? 1);
    this.#state = typeof where === "string" ? new FileSharedState(where) : where;
    this.#slots = Array.from({ length: shards }, () => ({
      shard: emptyShard(),
      version: 0,
      writing: Promise.resolve(),
      queued: undefined,
    }));
    if (typeof where === "string") {
      const slot = this.#slots[0] as Slot;
      try {
        const text = readFileSync(join(where, `${KEY}.json`), "utf8");
        slot.version = 1; // the file exists: FileSharedState's first version of a key found on disk
        slot.shard = shardOf(JSON.parse(text) as ShardFile);
      } catch {
        // none yet, or unreadable: start empty (a transition may then be sent a second time)
      }
    }
  }

  /** An outbox over shared state, read before it is used (a new leader's). */
  static async open(state: SharedState, options: OutboxOptions = {}): Promise<Outbox> {
    const outbox = new Outbox(state, options);
    await outbox.#load();
    return outbox;
  }

  /**
   * Records a transition and the notifications it makes (built with the recorded previous phase);
   * resolves, once written, to those to deliver: none when the transition was recorded before, or
   * their ids were.
   */
  async record(transition: Transition, build: (from: string | undefined) => Payload[]): Promise<Payload[]> {
    const { fresh, saved } = this.add(transition, build);
    await saved;
    return fresh;
  }

  /**
   * `record` in two steps: the notifications to deliver, known at once (and kept pending here), and
   * their write. A caller may deliver them even when the write fails: they stay pending in memory
   * and are written with the next write that succeeds.
   */
  add(
    transition: Transition,
    build: (from: string | undefined) => Payload[],
  ): { fresh: Payload[]; saved: Promise<void> } {
    const slot = this.#slotOf(transition.resource);
    const last = slot.shard.phases.get(transition.resource);
    let from = transition.from;
    if (last && last.run === transition.run) {
      if (last.phase === (transition.to ?? null)) return { fresh: [], saved: Promise.resolve() };
      from = last.phase ?? undefined;
    }
    slot.shard.phases.delete(transition.resource);
    slot.shard.phases.set(transition.resource, { run: transition.run, phase: transition.to ?? null });
    const fresh = build(from).filter((p) => !slot.shard.sent.has(p.id) && !slot.shard.pending.has(p.id));
    for (const payload of fresh) slot.shard.pending.set(payload.id, payload);
    return { fresh, saved: this.#save(slot) };
  }

  /** The delivery ended (delivered, or given up): never offered again. */
  async done(payload: Payload, at: Date): Promise<void> {
    const slot = this.#slotOf(resourceOf(payload));
    slot.shard.pending.delete(payload.id);
    slot.shard.sent.delete(payload.id);
    slot.shard.sent.set(payload.id, at.toISOString());
    await this.#save(slot);
  }

  pending(): Payload[] {
    return this.#slots.flatMap((slot) => [...slot.shard.pending.values()]);
  }

  /** Every id recorded as sent (tests). */
  sent(): string[] {
    return this.#slots.flatMap((slot) => [...slot.shard.sent.keys()]);
  }

  async #load(): Promise<void> {
    await Promise.all(
      this.#slots.map(async (slot, n) => {
        const found = await this.#state.get<ShardFile>(this.#keyOf(n));
        slot.version = found?.version ?? 0;
        slot.shard = shardOf(found?.value);
      }),
    );
  }

  /**
   * Writes the slot's shard after the write under way, if any; callers that arrive meanwhile share
   * the next write (one write carries every change made before it starts).
   */
  #save(slot: Slot): Promise<void> {
    slot.queued ??= slot.writing
      .catch(() => undefined)
      .then(() => {
        slot.queued = undefined;
        slot.writing = this.#write(slot);
        return slot.writing;
      });
    return slot.queued;
  }

  async #write(slot: Slot): Promise<void> {
    const n = this.#slots.indexOf(slot);
    const key = this.#keyOf(n);
    const bounds = {
      sent: Math.ceil(SENT_KEPT / this.#slots.length),
      phases: Math.ceil(PHASES_KEPT / this.#slots.length),
      bytes: this.#state.maxValueBytes,
    };
    for (let attempt = 0; attempt <= CONFLICT_RETRIES; attempt++) {
      const file = boundedFile(slot.shard, bounds);
      if (!file) {
        throw new OutboxFullError(`${this.#state.description} ${key}`, slot.shard.pending.size, bounds.bytes);
      }
      const version = await this.#state.put(key, file, slot.version);
      if (version !== undefined) {
        slot.version = version;
        return;
      }
      // Another writer (a replica that led before) wrote since: keep what both recorded.
      const theirs = await this.#state.get<ShardFile>(key);
      slot.shard = mergeShards(slot.shard, shardOf(theirs?.value));
      slot.version = theirs?.version ?? 0;
    }
    throw new OutboxConflictError(`${this.#state.description} ${key}`);
  }

  #slotOf(resource: string): Slot {
    return this.#slots[shardIndex(resource, this.#slots.length)] as Slot;
  }

  #keyOf(n: number): string {
    return this.#slots.length === 1 ? KEY : `${KEY}/${n}`;
  }
}

export class OutboxFullError extends OperatorError {
  constructor(where: string, pending: number, bytes: number) {
    super("OutboxFull", `${where}: ${pending} pending notifications are over ${bytes} bytes; not recorded`);
  }
}

export class OutboxConflictError extends OperatorError {
  constructor(where: string) {
    super("OutboxConflict", `${where}: changed by another writer ${CONFLICT_RETRIES + 1} times in a row`);
  }
}

function resourceOf(payload: Payload): string {
  return `${payload.kind}/${payload.namespace}/${payload.name}`;
}

/** FNV-1a of the resource key: the same shard in every replica. */
export function shardIndex(resource: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < resource.length; i++) {
    hash ^= resource.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}
