// What was sent, and what is still to send, per notification id: `<state dir>/notifications.json`,
// written atomically before a delivery starts and after it ends. A transition is offered once (an
// id already pending or sent is refused), so a restart neither repeats a delivered notification nor
// loses one it had not delivered yet (pending ones are sent again at start: at least once).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../sources/state/index.ts";
import type { Payload } from "./select.ts";

/** Ids of delivered notifications kept for deduplication (oldest dropped first). */
export const SENT_KEPT = 10_000;

interface OutboxFile {
  readonly sent: Record<string, string>;
  readonly pending: Record<string, Payload>;
}

export class Outbox {
  readonly #path: string;
  readonly #sent: Map<string, string>;
  readonly #pending: Map<string, Payload>;
  #writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string) {
    this.#path = join(stateDir, "notifications.json");
    let file: OutboxFile = { sent: {}, pending: {} };
    try {
      file = JSON.parse(readFileSync(this.#path, "utf8")) as OutboxFile;
    } catch {
      // none yet, or unreadable: start empty (a transition may then be sent a second time)
    }
    this.#sent = new Map(Object.entries(file.sent ?? {}));
    this.#pending = new Map(Object.entries(file.pending ?? {}));
  }

  /** Records `payload` as pending; false when its id was offered before. */
  async offer(payload: Payload): Promise<boolean> {
    if (this.#sent.has(payload.id) || this.#pending.has(payload.id)) return false;
    this.#pending.set(payload.id, payload);
    await this.#save();
    return true;
  }

  /** The delivery ended (delivered, or given up): never offered again. */
  async done(id: string, at: Date): Promise<void> {
    this.#pending.delete(id);
    this.#sent.set(id, at.toISOString());
    while (this.#sent.size > SENT_KEPT) {
      const oldest = this.#sent.keys().next().value;
      if (oldest === undefined) break;
      this.#sent.delete(oldest);
    }
    await this.#save();
  }

  pending(): Payload[] {
    return [...this.#pending.values()];
  }

  /** Writes one after another; each writes the whole current state. */
  #save(): Promise<void> {
    this.#writing = this.#writing.then(
      () =>
        writeFileAtomic(
          this.#path,
          JSON.stringify({
            sent: Object.fromEntries(this.#sent),
            pending: Object.fromEntries(this.#pending),
          }),
        ),
      () => undefined,
    );
    return this.#writing;
  }
}
