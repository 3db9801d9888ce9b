// Event logs of resources nothing declares or records (left by binaries before 2026-12-05, which
// wrote a deleted resource's last events after removing its log): removed at start in directory
// mode once the directory is read cleanly; logs of declared resources, of resources with a status
// record and files the operator does not name are kept.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { eventsPath, statusPath } from "../../src/sources/state/paths.ts";
import { removeStrayEventLogs } from "../../src/sources/state/stray-events.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);
const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;
const LINE = '{"type":"Normal","reason":"Deleted","message":"gone","count":1}\n';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "mlops-stray-logs-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function put(path: string, text = LINE): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe("removeStrayEventLogs", () => {
  it("removes only the logs of keys not declared and without a status record", async () => {
    const state = join(root, "unit");
    const key = (name: string, namespace = "default") => `TrainingJob/${namespace}/${name}` as ResourceKey;
    const declared = put(eventsPath(state, key("declared")));
    const recorded = put(eventsPath(state, key("recorded")));
    put(statusPath(state, key("recorded")), "{}\n");
    const stray = put(eventsPath(state, key("gone")));
    const strayQueue = put(eventsPath(state, "TrainingQueue/team-a/gpus" as ResourceKey));
    const notOurs = [
      put(join(state, "events", "trainingjob", "default", "Not_A_Name.jsonl")),
      put(join(state, "events", "trainingjob", "default", "notes.txt")),
      put(join(state, "events", "trainingjob", "Bad_Namespace", "x.jsonl")),
      put(join(state, "events", "somethingelse", "default", "x.jsonl")),
    ];
    const removed = await removeStrayEventLogs(state, (k) => k === key("declared"));
    expect(removed.sort()).toEqual([stray, strayQueue].sort());
    for (const path of [declared, recorded, ...notOurs]) expect(existsSync(path)).toBe(true);
    expect(await removeStrayEventLogs(join(root, "no-such-state-dir"), () => false)).toEqual([]);
  });
});

describe("mlopsctl run --once", () => {
  let nomad: NomadDouble;
  beforeAll(async () => {
    nomad = await startNomadDouble();
  });
  afterAll(async () => {
    await nomad?.close();
  });

  async function runOnce(dir: string, state: string): Promise<string> {
    const args = ["run", "--once", "--dir", dir, "--state-dir", state, "--scheduler", "nomad"];
    args.push("--nomad-addr", nomad.address, "--metrics-addr", "127.0.0.1:0", "--owner-id", "stray-logs");
    args.push("--log-format", "json");
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: root, MLOPSCTL_CONTEXT: "" };
    delete env.NOMAD_ADDR;
    const { stderr, stdout } = await exec(CLI, args, { cwd: root, timeout: 60_000, env });
    return stdout + stderr;
  }

  it("removes a stray log after a clean read, keeps the logs of the directory's resources", async () => {
    const dir = join(root, "repo");
    const state = join(root, "state");
    put(
      join(dir, "mnist.yaml"),
      "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: mnist\nspec:\n  image: img:1\n",
    );
    const stray = put(eventsPath(state, "TrainingJob/default/deleted-long-ago" as ResourceKey));
    const output = await runOnce(dir, state);
    expect(existsSync(stray)).toBe(false);
    expect(output).toContain('"removed":1,"msg":"removed event logs no resource or status declares"');
    const kept = eventsPath(state, "TrainingJob/default/mnist" as ResourceKey);
    expect(readFileSync(kept, "utf8")).toContain('"reason":"Created"');
    // A second run finds nothing to remove, and the resource's log is still there.
    expect(await runOnce(dir, state)).not.toContain("removed event logs");
    expect(existsSync(kept)).toBe(true);
  });
});
