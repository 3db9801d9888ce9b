import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EventType } from "../../src/controller/reconcile.ts";
import {
  compactAt,
  type EventRecord,
  mergeEvents,
  type PendingEvent,
  parseEvents,
} from "../../src/sources/state/event-merge.ts";
import { EventLog, readEvents } from "../../src/sources/state/events.ts";
import { closeIoWorker } from "../../src/sources/state/io-worker.ts";
import { eventsPath } from "../../src/sources/state/paths.ts";

const KEY = "TrainingJob/default/a";
let dir: string;
let seconds: number;
const clock = { now: () => new Date(Date.UTC(2026, 11, 5, 0, 0, seconds)) };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-event-append-"));
  seconds = 0;
});
afterEach(async () => {
  await closeIoWorker();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (): string[] => readFileSync(eventsPath(dir, KEY), "utf8").split("\n").filter(Boolean);

describe("event logs, appended and compacted", () => {
  it("a batch is appended as one line per event; reading folds a repeat into the earlier line's event, moved to the end", async () => {
    const log = new EventLog(dir, { flushMs: 60_000, clock });
    log.event(KEY, "Normal", "Queued", "waiting");
    log.event(KEY, "Normal", "Submitted", "run g1");
    await log.flush();
    seconds = 5;
    log.event(KEY, "Normal", "Queued", "waiting");
    log.event(KEY, "Normal", "Queued", "waiting");
    await log.close();
    expect(lines().map((l) => (JSON.parse(l) as EventRecord).count)).toEqual([1, 1, 2]);
    expect(await readEvents(dir, KEY)).toEqual([
      normal("Submitted", "run g1", 1, 0, 0),
      normal("Queued", "waiting", 3, 0, 5),
    ]);
  });

  it("reads what merging every batch into the log would hold; a log past its size is compacted to its newest records", async () => {
    const limit = 4;
    const log = new EventLog(dir, { flushMs: 60_000, limit, clock });
    let model: EventRecord[] = [];
    let compactions = 0;
    let previousLines = 0;
    let random = 7;
    const next = (n: number): number => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % n;
    };
    for (let batch = 0; batch < 150; batch++) {
      seconds = batch;
      const events: PendingEvent[] = [];
      for (let i = next(3) + 1; i > 0; i--) {
        // Six kinds of event, some repeated within a batch; long messages fill the log quickly.
        const n = next(6);
        const event = {
          type: (n % 2 ? "Warning" : "Normal") as EventType,
          reason: `R${n}`,
          message: `${n}`.repeat(300),
        };
        events.push({ ...event, at: clock.now().toISOString() });
        log.event(KEY, event.type, event.reason, event.message);
      }
      await log.flush();
      model = mergeEvents(model, events, limit);
      expect(await readEvents(dir, KEY, limit)).toEqual(model);
      expect(statSync(eventsPath(dir, KEY)).size).toBeLessThanOrEqual(compactAt(limit));
      const now = lines().length;
      if (now < previousLines) {
        compactions++;
        expect(now).toBeLessThanOrEqual(limit);
      }
      previousLines = now;
    }
    expect(compactions).toBeGreaterThan(2);
    await log.close();
  });

  it("a torn last line is skipped, and the next append starts on a line of its own", async () => {
    const path = eventsPath(dir, KEY);
    mkdirSync(dirname(path), { recursive: true });
    const whole = normal("Submitted", "run g1", 1, 0, 0);
    writeFileSync(path, `${JSON.stringify(whole)}\n`);
    appendFileSync(path, '{"type":"Normal","reason":"Runn'); // a power loss in the middle of an append
    expect(parseEvents(readFileSync(path, "utf8"))).toEqual([whole]);

    seconds = 9;
    const log = new EventLog(dir, { flushMs: 60_000, clock });
    log.event(KEY, "Normal", "Running", "started");
    await log.close();
    expect(lines()).toHaveLength(3);
    expect((await readEvents(dir, KEY)).map((e) => [e.reason, e.count])).toEqual([
      ["Submitted", 1],
      ["Running", 1],
    ]);
  });

  it("a format-3 log (one line per event, already merged) reads as it did", () => {
    const merged = mergeEvents(
      [],
      ["A", "B", "A", "C"].map((reason, i) => ({ type: "Normal", reason, message: "m", at: at(i) })),
      50,
    );
    const text = `${merged.map((e) => JSON.stringify(e)).join("\n")}\n`;
    expect(parseEvents(text)).toEqual(merged);
    expect(parseEvents(text, 2)).toEqual(merged.slice(-2));
  });
});

function at(s: number): string {
  return new Date(Date.UTC(2026, 11, 5, 0, 0, s)).toISOString();
}

/** A Normal event record, its timestamps as seconds of the test clock. */
function normal(reason: string, message: string, count: number, first: number, last: number): EventRecord {
  return { type: "Normal", reason, message, count, firstTimestamp: at(first), lastTimestamp: at(last) };
}
