// The status page's in-memory view is fed by the state store of its process: each record the store
// writes reaches the view (the very object, not a copy read back from disk) before the file is
// written, each forgotten key goes at once, and the records already on disk are read at start, where
// a record the store reports during that read wins over the older one the read finds.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Observable, Subject } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob, type TrainingJobStatus } from "../../src/api/resources.ts";
import {
  listScope,
  type RecordEvent,
  readRecord,
  StateStore,
  type StatusRecord,
  type StatusRecordChange,
} from "../../src/sources/state/index.ts";
import { StatusView } from "../../src/web/index.ts";

let stateDir = "";
let store: StateStore;
let view: StatusView;
let seen: string[] = [];

const MNIST = makeKey("TrainingJob", "default", "mnist");

const job = (name: string, namespace = "default"): TrainingJob => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingJob",
  metadata: { name, namespace, generation: 1, labels: { team: "vision" } },
  spec: {
    image: "registry.local/mnist:1",
    replicas: 1,
    resources: { cpu: 500, memoryMB: 1024, gpus: 0 },
    priority: 50,
    backoffLimit: 3,
    suspend: false,
    env: [{ name: "TOKEN", value: "secret-value" }],
  },
});

const status = (phase: NonNullable<TrainingJobStatus["phase"]>): TrainingJobStatus => ({
  phase,
  observedGeneration: 1,
  conditions: [],
});

const describeEvent = (e: RecordEvent) =>
  `${e.type} ${e.record.metadata.namespace}/${e.record.metadata.name} ${String(e.record.status?.phase)}`;

/** Each record the store reports, as it reports it. */
function reported(from: StateStore): StatusRecord[] {
  const out: StatusRecord[] = [];
  from.recordChanges().subscribe({ next: ({ record }) => record && out.push(record) });
  return out;
}

beforeEach(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "mlops-status-view-"));
  // A long batch delay: a write is in memory only until flush(), so a view reading files misses it.
  store = new StateStore(stateDir, { writeBehind: { delayMs: 60_000 } });
  await store.writeStatus(job("mnist"), status("Pending"));
  await store.flush();
  view = new StatusView(store);
  await view.start();
  seen = [];
  view.subscribe((e) => seen.push(describeEvent(e)));
});

afterEach(async () => {
  view.close();
  await store.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("the status view", () => {
  it("holds the records on disk at start", () => {
    expect(view.list().map((r) => `${r.metadata.name} ${String(r.status.phase)}`)).toEqual(["mnist Pending"]);
    expect(view.version).toBe(1);
  });

  it("has each record the store writes, the store's own object, before the file is written", async () => {
    const records = reported(store);
    const phases = ["Running", "Succeeded", "Pending", "Running", "Failed"] as const;
    for (const phase of phases) {
      await store.writeStatus(job("mnist"), status(phase));
      expect(view.get(MNIST)).toBe(records.at(-1));
    }
    expect(seen).toEqual(phases.map((p) => `MODIFIED default/mnist ${p}`));
    // Nothing was written yet: the file still holds the first record.
    expect((await readRecord(stateDir, MNIST))?.status.phase).toBe("Pending");
    // Once written, the file is what the view shows (the page shows what is on disk): the record it
    // holds carries no spec, and takes the one the file was written with.
    await store.flush();
    const held = view.get(MNIST) as StatusRecord;
    expect(held.spec).toBeUndefined();
    expect(await readRecord(stateDir, MNIST)).toEqual(JSON.parse(JSON.stringify(view.withSpec(held))));
    expect(view.withSpec(held).spec).toMatchObject({ image: "registry.local/mnist:1" });
    expect(JSON.stringify(view.withSpec(held))).not.toContain("secret-value");
  });

  it("shows a record with its live resource's spec, redacted, when it is of that generation; else its file's", async () => {
    let live: TrainingJob | undefined = job("mnist");
    const withLive = new StatusView(store, { live: () => live });
    await withLive.start();
    await store.writeStatus(job("mnist"), status("Running"));
    const held = withLive.get(MNIST) as StatusRecord;
    expect(held.spec).toBeUndefined();
    // Not written yet (a long batch delay): the live resource's spec, env values redacted.
    const shown = withLive.withSpec(held);
    expect(shown.spec).toMatchObject({ image: "registry.local/mnist:1", env: [{ name: "TOKEN" }] });
    expect(JSON.stringify(shown)).not.toContain("secret-value");
    await store.flush();
    expect((await readRecord(stateDir, MNIST))?.spec).toEqual(shown.spec);
    // The resource changed since (a new generation not yet reconciled): the spec the record was written with.
    live = { ...job("mnist"), metadata: { ...job("mnist").metadata, generation: 2 } };
    live.spec = { ...live.spec, image: "registry.local/mnist:2" };
    expect(withLive.withSpec(held).spec).toMatchObject({ image: "registry.local/mnist:1" });
    // Gone: the same.
    live = undefined;
    expect(withLive.withSpec(held).spec).toMatchObject({ image: "registry.local/mnist:1" });
    withLive.close();
  });

  it("reports a record only when the store writes it (unchanged status: no event)", async () => {
    expect(await store.writeStatus(job("mnist"), status("Pending"))).toBe(false);
    expect(seen).toEqual([]);
  });

  it("adds a record in a namespace it has not seen, in order", async () => {
    await store.writeStatus(job("bert", "nlp"), status("Pending"));
    await store.writeStatus(job("bert", "nlp"), status("Running"));
    expect(seen).toEqual(["ADDED nlp/bert Pending", "MODIFIED nlp/bert Running"]);
    expect(view.list().map((r) => r.metadata.name)).toEqual(["mnist", "bert"]);
  });

  it("drops a forgotten record with DELETED, then a new write of the key is ADDED", async () => {
    await store.forget(MNIST);
    expect(seen).toEqual(["DELETED default/mnist Pending"]);
    expect(view.list()).toEqual([]);
    await store.writeStatus(job("mnist"), status("Running"));
    expect(seen.at(-1)).toBe("ADDED default/mnist Running");
  });

  it("numbers each change and keeps it for a stream that resumes", async () => {
    const from = view.version;
    await store.writeStatus(job("mnist"), status("Running"));
    await store.forget(MNIST);
    expect(view.since(from)?.map((c) => [c.version - from, c.event.type])).toEqual([
      [1, "MODIFIED"],
      [2, "DELETED"],
    ]);
  });

  it("stops following at close", async () => {
    view.close();
    await store.writeStatus(job("mnist"), status("Running"));
    expect(seen).toEqual([]);
    expect(view.get(MNIST)?.status.phase).toBe("Pending");
  });
});

describe("the status view's start", () => {
  /** A feed over the real state directory whose flush() lets `during` report changes mid-start. */
  function feed(during: (changes: Subject<StatusRecordChange>) => void) {
    const changes = new Subject<StatusRecordChange>();
    return {
      dir: stateDir,
      recordChanges: (): Observable<StatusRecordChange> => changes.asObservable(),
      flush: async () => during(changes),
      readAll: () => listScope(stateDir, {}),
      writtenSpec: () => undefined,
    };
  }

  it("keeps a record written between its subscription and its read of the disk", async () => {
    const newer: StatusRecord = {
      ...((await readRecord(stateDir, MNIST)) as StatusRecord),
      status: { ...status("Running") },
      updated: new Date(Date.now() + 1000).toISOString(),
    };
    const late = new StatusView(feed((changes) => changes.next({ key: MNIST, record: newer })));
    await late.start();
    expect(late.get(MNIST)).toBe(newer);
    expect(late.list()).toEqual([newer]);
    expect(late.since(0)?.map((c) => describeEvent(c.event))).toEqual(["ADDED default/mnist Running"]);
    late.close();
  });

  it("keeps a key forgotten between its subscription and its read of the disk forgotten", async () => {
    const late = new StatusView(feed((changes) => changes.next({ key: MNIST, record: undefined })));
    await late.start();
    expect(late.list()).toEqual([]);
    expect(late.version).toBe(0);
    late.close();
  });

  it("reads each file once at start: a restarted store's first read of a key is the view's record", async () => {
    const restarted = new StateStore(stateDir);
    const fresh = new StatusView(restarted);
    await fresh.start();
    const events: string[] = [];
    fresh.subscribe((e) => events.push(describeEvent(e)));
    const own = fresh.get(MNIST);
    expect(own?.status.phase).toBe("Pending");
    // As the source does for its status (no spec asked): not parsed again.
    const read = restarted.readSync(MNIST, false);
    expect(read).toBe(own);
    expect(fresh.list()).toEqual([read]);
    expect([events, fresh.version]).toEqual([[], 1]);
    // Later reads go to the file again (the store's first read is the only one the view's stands for),
    // and have the spec the view's record does not hold.
    const again = restarted.readSync(MNIST);
    expect(again).not.toBe(own);
    expect(again).toEqual({ ...own, spec: again?.spec });
    expect(again?.spec).toMatchObject({ image: "registry.local/mnist:1" });
    expect(own?.spec).toBeUndefined();
    fresh.close();
    await restarted.close();
  });

  it("gives the first read of a key written since the start the record written, not the one read", async () => {
    const restarted = new StateStore(stateDir, { writeBehind: { delayMs: 60_000 } });
    const fresh = new StatusView(restarted);
    await fresh.start();
    await restarted.writeStatus(job("mnist"), status("Running"));
    expect(restarted.readSync(MNIST)?.status.phase).toBe("Running");
    expect(fresh.get(MNIST)?.status.phase).toBe("Running");
    fresh.close();
    await restarted.close();
  });

  it("forgets a read record with its key: the first read after a forget finds no file", async () => {
    const restarted = new StateStore(stateDir);
    const fresh = new StatusView(restarted);
    await fresh.start();
    await restarted.forget(MNIST);
    expect(restarted.readSync(MNIST)).toBeUndefined();
    expect(fresh.get(MNIST)).toBeUndefined();
    fresh.close();
    await restarted.close();
  });

  it("reports a record read that differs from what it read (the file changed since)", async () => {
    const changes = new Subject<StatusRecordChange>();
    const view2 = new StatusView({
      dir: stateDir,
      recordChanges: () => changes.asObservable(),
      flush: async () => {},
      readAll: () => listScope(stateDir, {}),
      writtenSpec: () => undefined,
    });
    await view2.start();
    const events: string[] = [];
    view2.subscribe((e) => events.push(describeEvent(e)));
    const newer: StatusRecord = {
      ...((await readRecord(stateDir, MNIST)) as StatusRecord),
      status: { ...status("Running") },
      updated: new Date(Date.now() + 1000).toISOString(),
    };
    changes.next({ key: MNIST, record: newer, read: true });
    expect(view2.get(MNIST)).toBe(newer);
    expect(events).toEqual(["MODIFIED default/mnist Running"]);
    view2.close();
  });

  it("sees a write made while it starts, through the real store", async () => {
    const late = new StatusView(store);
    const started = late.start();
    await store.writeStatus(job("mnist"), status("Running"));
    await store.writeStatus(job("gpt", "nlp"), status("Pending"));
    await started;
    expect(late.list().map((r) => `${r.metadata.name} ${String(r.status.phase)}`)).toEqual([
      "mnist Running",
      "gpt Pending",
    ]);
    late.close();
  });

  it("reads records written before it started that were still waiting to be written", async () => {
    await store.writeStatus(job("bert", "nlp"), status("Pending"));
    const late = new StatusView(store);
    await late.start();
    expect(late.get(makeKey("TrainingJob", "nlp", "bert"))?.status.phase).toBe("Pending");
    late.close();
  });
});
