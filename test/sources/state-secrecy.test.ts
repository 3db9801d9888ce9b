// The state directory keeps no env value and only its owner reads it: records hold names and hashes,
// files are 0600 and directories 0700 from creation, and secureStateDir repairs older ones.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TrainingJob } from "../../src/api/resources.ts";
import { renderDescribe } from "../../src/cli/commands/describe.ts";
import { get } from "../../src/cli/commands/get.ts";
import {
  EventLog,
  readEvents,
  readRecord,
  StateStore,
  secureStateDir,
  statusPath,
  writeFileAtomic,
} from "../../src/sources/state/index.ts";

const PLAIN = "plain-Value-e41b";
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-state-secrecy-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

function job(value = PLAIN): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name: "train", namespace: "default", generation: 1 },
    spec: {
      image: "img:1",
      replicas: 1,
      resources: { cpu: 100, memoryMB: 256, gpus: 0 },
      priority: 50,
      backoffLimit: 3,
      suspend: false,
      env: [
        { name: "PLAIN", value },
        { name: "TOKEN", valueFrom: { file: { path: "token" } } },
      ],
    },
  };
}

describe("status records keep env names, never values", () => {
  it("the file, get -o json|yaml and describe show names, a hash and the reference", async () => {
    const stateDir = join(dir, "state");
    const store = new StateStore(stateDir);
    await store.writeStatus(job(), { phase: "Pending" });
    await store.close();
    const text = readFileSync(statusPath(stateDir, "TrainingJob/default/train"), "utf8");
    expect(text).not.toContain(PLAIN);
    const record = await readRecord(stateDir, "TrainingJob/default/train");
    if (!record) throw new Error("no record");
    const env = (record.spec as { env: unknown[] }).env;
    expect(env[0]).toEqual({ name: "PLAIN", valueHash: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) });
    expect(env[1]).toEqual({ name: "TOKEN", valueFrom: { file: { path: "token" } } });
    for (const output of ["json", "yaml", "wide"]) {
      const out = await get("tj", "train", { stateDir, output });
      expect(out).not.toContain(PLAIN);
    }
    expect(await get("tj", "train", { stateDir, output: "json" })).toContain('"name": "PLAIN"');
    const described = renderDescribe(record, [], new Date());
    expect(described).toContain("PLAIN");
    expect(described).not.toContain(PLAIN);
  });

  it("a record written with values by an older version reads without them", async () => {
    const stateDir = join(dir, "state");
    const path = statusPath(stateDir, "TrainingJob/default/train");
    const old = job();
    await writeFileAtomic(
      path,
      JSON.stringify({ ...old, specHash: "x", status: {}, updated: new Date().toISOString() }),
    );
    const record = await readRecord(stateDir, "TrainingJob/default/train");
    expect(JSON.stringify(record)).not.toContain(PLAIN);
  });
});

describe("state directory modes", () => {
  it("status and event files are created 0600 in 0700 directories", async () => {
    const stateDir = join(dir, "state");
    const store = new StateStore(stateDir);
    await store.writeStatus(job(), { phase: "Pending" });
    await store.close();
    const events = new EventLog(stateDir);
    events.event("TrainingJob/default/train", "Normal", "Created", "run g1 on docker");
    await events.close();
    expect((await readEvents(stateDir, "TrainingJob/default/train")).length).toBe(1);
    const status = statusPath(stateDir, "TrainingJob/default/train");
    expect(mode(status)).toBe("600");
    expect(mode(join(stateDir, "status"))).toBe("700");
    expect(mode(join(stateDir, "status", "trainingjob", "default"))).toBe("700");
  });

  it("secureStateDir repairs 0755/0644 to 0700/0600 and leaves symbolic links alone", () => {
    const stateDir = join(dir, "state");
    mkdirSync(join(stateDir, "status", "trainingjob"), { recursive: true, mode: 0o755 });
    chmodSync(stateDir, 0o755);
    const file = join(stateDir, "status", "trainingjob", "a.json");
    writeFileSync(file, "{}", { mode: 0o644 });
    const outside = join(dir, "outside");
    writeFileSync(outside, "x", { mode: 0o644 });
    symlinkSync(outside, join(stateDir, "link"));
    expect(secureStateDir(stateDir)).toBe(4);
    expect([mode(stateDir), mode(join(stateDir, "status")), mode(file)]).toEqual(["700", "700", "600"]);
    expect(mode(outside)).toBe("644");
    expect(secureStateDir(stateDir)).toBe(0);
  });
});
