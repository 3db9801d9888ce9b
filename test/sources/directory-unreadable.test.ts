// Entries the directory source cannot read block every prune and are named; nothing follows a
// link out of the tree; briefly missing files are never pruned by an unrelated read.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import type { Recorder } from "../../src/controller/reconcile.ts";
import { sourcePrunesHeldBack } from "../../src/observability/metrics.ts";
import { DirectorySource, type DirectorySourceOptions } from "../../src/sources/directory/index.ts";
import { StateStore } from "../../src/sources/state/index.ts";

let root: string;
let dir: string;
let stateDir: string;
const open: { source: DirectorySource; store: StateStore }[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "mlops-unreadable-"));
  dir = join(root, "repo");
  stateDir = join(root, "state");
  mkdirSync(dir);
});
afterEach(async () => {
  for (const { source, store } of open.splice(0)) {
    await source.close();
    await store.close();
  }
  rmSync(root, { recursive: true, force: true });
});

const job = (name: string, image = "img:1") =>
  `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;
const key = (name: string): ResourceKey => `TrainingJob/default/${name}`;

interface Event {
  key: ResourceKey;
  reason: string;
  message: string;
}

async function startSource(options: Partial<DirectorySourceOptions> = {}) {
  const store = new StateStore(stateDir);
  const events: Event[] = [];
  const recorder: Recorder = {
    event: (k, _type, reason, message) => events.push({ key: k, reason, message }),
  };
  const source = new DirectorySource({ dir, store, settleMs: 100, recorder, ...options });
  await source.start();
  open.push({ source, store });
  return { source, store, events };
}

/** Three resources converged by a previous `run --once`. */
async function previousRun(names = ["a", "b", "c"]): Promise<void> {
  for (const n of names) writeFileSync(join(dir, `${n}.yaml`), job(n));
  const { source, store } = await startSource({ once: true });
  await source.close();
  await store.close();
  open.length = 0;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("unreadable entries block every prune and are named (run --once)", () => {
  const outside = () => {
    const target = join(root, "outside.yaml");
    writeFileSync(target, job("b"));
    return target;
  };
  it.each([
    [
      "binary bytes",
      () => writeFileSync(join(dir, "b.yaml"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2])),
      /binary file \(NUL byte/,
    ],
    [
      "invalid UTF-8",
      () => writeFileSync(join(dir, "b.yaml"), Buffer.from([0x61, 0x3a, 0x20, 0xff, 0x0a])),
      /not valid UTF-8/,
    ],
    ["truncated to zero bytes", () => truncateSync(join(dir, "b.yaml"), 0), /empty file \(0 bytes\)/],
    ["whitespace only", () => writeFileSync(join(dir, "b.yaml"), "  \n\t\n"), /only whitespace/],
    ["unparsable foreign YAML", () => writeFileSync(join(dir, "b.yaml"), "on: [push\n"), /.+/],
    [
      "a FIFO",
      () => {
        rmSync(join(dir, "b.yaml"));
        execFileSync("mkfifo", [join(dir, "b.yaml")]);
      },
      /FIFO \(named pipe\)/,
    ],
    [
      "a directory",
      () => {
        rmSync(join(dir, "b.yaml"));
        mkdirSync(join(dir, "b.yaml"));
      },
      /is a directory/,
    ],
    [
      "a dangling link",
      () => {
        rmSync(join(dir, "b.yaml"));
        symlinkSync(join(dir, "nowhere"), join(dir, "b.yaml"));
      },
      /dangling/,
    ],
    [
      "a link loop",
      () => {
        rmSync(join(dir, "b.yaml"));
        symlinkSync(join(dir, "b.yaml"), join(dir, "b.yaml"));
      },
      /symbolic link loop/,
    ],
    [
      "a link out of the tree",
      () => {
        rmSync(join(dir, "b.yaml"));
        symlinkSync(outside(), join(dir, "b.yaml"));
      },
      /leads out of the tree/,
    ],
    [
      "a link to /etc/passwd",
      () => {
        rmSync(join(dir, "b.yaml"));
        symlinkSync("/etc/passwd", join(dir, "b.yaml"));
      },
      /leads out of the tree \(to \/etc\/passwd\)/,
    ],
  ])("%s: b is not pruned, the entry is named with its reason", async (_name, damage, reason) => {
    await previousRun();
    damage();
    const { source } = await startSource({ once: true });
    expect(source.lookup(key("b")).state).not.toBe("deleted");
    expect(source.lookup(key("a")).state).toBe("present");
    const report = source.pruneReport();
    expect(report.unreadable).toHaveLength(1);
    expect(report.unreadable[0]?.file).toBe(join(dir, "b.yaml"));
    expect(report.unreadable[0]?.message).toMatch(reason);
    expect(source.settled()).toBe(false);
  });

  it("comments only or `---` is a deliberate empty file: its resources are pruned", async () => {
    await previousRun();
    writeFileSync(join(dir, "b.yaml"), "# moved to another team\n---\n");
    const { source, events } = await startSource({ once: true });
    expect(source.lookup(key("b")).state).toBe("deleted");
    expect(source.pruneReport().unreadable).toEqual([]);
    const pruned = events.find((e) => e.key === key("b"));
    expect(pruned?.reason).toBe("Pruned");
    expect(pruned?.message).toMatch(
      /^its objects are removed: no file declares it: absent from full reads #1 .* and #2 .*, 0\.\d s apart, tree unchanged$/,
    );
  });

  it("files named in .mlopsignore are not read and block nothing", async () => {
    await previousRun();
    mkdirSync(join(dir, "charts"));
    writeFileSync(join(dir, "charts", "deployment.yaml"), "{{ .Values.x }}: [\n");
    writeFileSync(join(dir, "broken.yaml"), "\0");
    writeFileSync(join(dir, ".mlopsignore"), "charts/\n/broken.yaml\n");
    rmSync(join(dir, "c.yaml"));
    const { source } = await startSource({ once: true });
    expect(source.pruneReport().unreadable).toEqual([]);
    expect(source.lookup(key("c")).state).toBe("deleted");
  });

  it("a FIFO named .mlopsignore is not read (no hang); without rules the broken file blocks", async () => {
    await previousRun();
    execFileSync("mkfifo", [join(dir, ".mlopsignore")]);
    writeFileSync(join(dir, "broken.yaml"), "\0");
    rmSync(join(dir, "c.yaml"));
    const { source } = await startSource({ once: true });
    expect(source.pruneReport().unreadable.map((u) => u.file)).toEqual([join(dir, "broken.yaml")]);
    expect(source.lookup(key("c")).state).not.toBe("deleted");
  });

  it("a link to a directory outside the tree is not followed; a link inside is", async () => {
    const elsewhere = join(root, "elsewhere");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "x.yaml"), job("x"));
    mkdirSync(join(dir, "team"));
    writeFileSync(join(dir, "team", "y.yaml"), job("y"));
    symlinkSync(elsewhere, join(dir, "out"));
    symlinkSync(join(dir, "team"), join(dir, "alias"));
    symlinkSync(dir, join(dir, "team", "loop"));
    const { source } = await startSource({ once: true });
    expect(source.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["y"]);
  });
});

describe("prune settle: two full reads, settle interval apart, tree quiet between them", () => {
  it("a file absent for 60 ms while another file is written every 10 ms is never pruned", async () => {
    for (const n of ["a", "b"]) writeFileSync(join(dir, `${n}.yaml`), job(n));
    const { source, events } = await startSource({ settleMs: 200 });
    // What the controller would see: the state of b each time the source announces a change.
    const seen: string[] = [];
    source.changes().subscribe((k) => {
      if (k === key("b")) seen.push(source.lookup(k).state);
    });
    let i = 0;
    const writer = setInterval(() => writeFileSync(join(dir, "a.yaml"), job("a", `img:${++i % 3}`)), 10);
    try {
      rmSync(join(dir, "b.yaml"));
      await pause(60);
      writeFileSync(join(dir, "b.yaml"), job("b"));
      await pause(400);
    } finally {
      clearInterval(writer);
    }
    await pause(400);
    await source.idle();
    expect(seen).not.toContain("deleted");
    expect(source.lookup(key("b")).state).toBe("present");
    expect(events.filter((e) => e.reason === "Pruned")).toEqual([]);
  });

  it("rm *.yaml, then the files copied back one by one: nothing is pruned", async () => {
    const names = Array.from({ length: 300 }, (_, i) => `c${i}`);
    for (const n of names) writeFileSync(join(dir, `${n}.yaml`), job(n));
    const { source } = await startSource({ settleMs: 200 });
    const seen: string[] = [];
    source.changes().subscribe((k) => seen.push(source.lookup(k).state));
    for (const n of names) rmSync(join(dir, `${n}.yaml`));
    await pause(50);
    for (const n of names) {
      writeFileSync(join(dir, `${n}.yaml`), job(n));
      await pause(1);
    }
    await until("all back", () => source.list("TrainingJob").length === names.length);
    await pause(400);
    await source.idle();
    expect(seen.filter((s) => s === "deleted")).toEqual([]);
    expect(source.settled()).toBe(true);
  });

  it("a file that flips between valid and invalid many times a second is never pruned", async () => {
    for (const n of ["a", "b"]) writeFileSync(join(dir, `${n}.yaml`), job(n));
    const { source, events } = await startSource({ settleMs: 100 });
    const states = new Set<string>();
    const shapes = ["", "\0\0", job("b"), "kind: [\n", job("b", "img:2")];
    const end = Date.now() + 1500;
    for (let n = 0; Date.now() < end; n++) {
      writeFileSync(join(dir, "b.yaml"), shapes[n % shapes.length] as string);
      if (n % 7 === 0) rmSync(join(dir, "b.yaml"));
      await pause(5);
      states.add(source.lookup(key("b")).state);
    }
    writeFileSync(join(dir, "b.yaml"), job("b"));
    await until("b present", () => source.lookup(key("b")).state === "present");
    await pause(300);
    expect(states.has("deleted")).toBe(false);
    expect(source.lookup(key("b")).state).toBe("present");
    expect(events.filter((e) => e.reason === "Pruned")).toEqual([]);
  });

  it("watch: a removed file is pruned after the settle interval, with an event saying why", async () => {
    for (const n of ["a", "b"]) writeFileSync(join(dir, `${n}.yaml`), job(n));
    const { source, events } = await startSource({ settleMs: 300 });
    const t0 = Date.now();
    rmSync(join(dir, "b.yaml"));
    await until("b deleted", () => source.lookup(key("b")).state === "deleted");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(events).toEqual([
      {
        key: key("b"),
        reason: "Pruned",
        message: expect.stringMatching(/\(last in b\.yaml\): .*tree unchanged$/),
      },
    ]);
  });

  it("the directory deleted and recreated prunes nothing", async () => {
    for (const n of ["a", "b"]) writeFileSync(join(dir, `${n}.yaml`), job(n));
    const { source, events } = await startSource({ settleMs: 100 });
    rmSync(dir, { recursive: true });
    await pause(300);
    mkdirSync(dir);
    writeFileSync(join(dir, "a.yaml"), job("a"));
    await pause(30);
    writeFileSync(join(dir, "b.yaml"), job("b"));
    await until("b back", () => source.get(key("b")) !== undefined);
    await pause(300);
    expect(source.lookup(key("a")).state).toBe("present");
    expect(events.filter((e) => e.reason === "Pruned")).toEqual([]);
  });
});

describe("a subdirectory deleted and recreated faster than its watch reports it", () => {
  it("is watched again: later files in it are seen, later removals pruned", async () => {
    mkdirSync(join(dir, "sub"));
    for (const n of ["a", "b"]) writeFileSync(join(dir, "sub", `${n}.yaml`), job(n));
    writeFileSync(join(dir, "c.yaml"), job("c"));
    const { source } = await startSource({ settleMs: 100 });
    rmSync(join(dir, "sub"), { recursive: true });
    mkdirSync(join(dir, "sub"));
    for (const n of ["a", "b"]) writeFileSync(join(dir, "sub", `${n}.yaml`), job(n));
    await pause(100);
    await source.idle();
    writeFileSync(join(dir, "sub", "d.yaml"), job("d"));
    await until("d seen", () => source.get(key("d")) !== undefined, 3000);
    rmSync(join(dir, "sub", "b.yaml"));
    await until("b pruned", () => source.lookup(key("b")).state === "deleted", 3000);
    expect(source.lookup(key("a")).state).toBe("present");
  });
});

describe("prune switches and the mass prune guard", () => {
  it("--prune=false keeps the objects: the resource is retained, not deleted", async () => {
    await previousRun();
    rmSync(join(dir, "b.yaml"));
    const { source, events } = await startSource({ once: true, prune: false });
    expect(source.lookup(key("b")).state).toBe("retained");
    expect(source.pruneReport().retained).toEqual([key("b")]);
    expect(events.map((e) => e.reason)).toEqual(["PruneDisabled"]);
  });

  it("a mass prune is held back in --once and in watch mode, and goes ahead when allowed", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `j${i}`);
    await previousRun(names);
    for (const n of names.slice(0, 12)) rmSync(join(dir, `${n}.yaml`));
    const once = await startSource({ once: true });
    expect(once.source.lookup(key("j0")).state).not.toBe("deleted");
    expect(once.source.pruneReport().massBlocked).toEqual({
      keys: names.slice(0, 12).map(key).sort(),
      total: 20,
    });
    expect(once.source.settled()).toBe(false);
    await once.source.close();
    await once.store.close();
    open.length = 0;
    const watch = await startSource({ settleMs: 50 });
    await until("blocked", () => watch.source.pruneReport().massBlocked !== undefined);
    await pause(200);
    expect(watch.source.lookup(key("j0")).state).not.toBe("deleted");
    expect(watch.events.filter((e) => e.reason === "MassPruneBlocked")).toHaveLength(12);
    const held = await sourcePrunesHeldBack.get();
    expect(held.values.find((v) => v.labels.reason === "MassPrune")?.value).toBe(12);
    // Most files come back: the one still missing is an ordinary prune again.
    for (const n of names.slice(1, 12)) writeFileSync(join(dir, `${n}.yaml`), job(n));
    await until("j0 pruned", () => watch.source.lookup(key("j0")).state === "deleted");
    expect(watch.source.lookup(key("j1")).state).toBe("present");
    await watch.source.close();
    await watch.store.close();
    open.length = 0;
    const allowed = await startSource({
      once: true,
      massPrune: { maxFraction: 0.5, maxCount: 10, allow: true },
    });
    expect(allowed.source.lookup(key("j0")).state).toBe("deleted");
  });

  it("the last file removed: held back as a mass prune, said so once, and pruned when allowed", async () => {
    await previousRun(["only"]);
    const watch = await startSource({ settleMs: 50 });
    rmSync(join(dir, "only.yaml"));
    await until("blocked", () => watch.source.pruneReport().massBlocked !== undefined);
    await pause(200);
    expect(watch.source.lookup(key("only")).state).toBe("present");
    expect(watch.source.pruneReport().massBlocked).toEqual({ keys: [key("only")], total: 1, emptied: true });
    const blocked = watch.events.filter((e) => e.reason === "MassPruneBlocked");
    expect(blocked).toHaveLength(1);
    expect(blocked[0]?.message).toContain(
      "no file declares any mlops.dev resource any more: all 1 would be pruned",
    );
    expect(blocked[0]?.message).toContain("--allow-mass-prune");
    const held = await sourcePrunesHeldBack.get();
    expect(held.values.find((v) => v.labels.reason === "MassPrune")?.value).toBe(1);
    await watch.source.close();
    await watch.store.close();
    open.length = 0;
    const once = await startSource({ once: true });
    expect(once.source.lookup(key("only")).state).not.toBe("deleted");
    await once.source.close();
    await once.store.close();
    open.length = 0;
    const allowed = await startSource({
      once: true,
      massPrune: { maxFraction: 0.5, maxCount: 10, allow: true },
    });
    expect(allowed.source.lookup(key("only")).state).toBe("deleted");
    expect(allowed.events.map((e) => e.reason)).toEqual(["Pruned"]);
  });
});
