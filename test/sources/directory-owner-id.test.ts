// The directory source's default owner id comes from the path as given, not its resolved target:
// git-sync swaps a symbolic link per revision (here in the middle of the path, as in
// manifests/nomad/mlops-operator.json's --dir=/alloc/data/git/current/resources), and an operator
// restarted after a swap must keep its id, or it would take its own Nomad jobs for another's.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DirectorySource, directoryOwnerId } from "../../src/sources/directory/index.ts";
import { StateStore } from "../../src/sources/state/index.ts";

let root = "";

/** The default of earlier versions, written out here: a hash of the real path. */
const realPathId = (path: string) =>
  createHash("sha256").update(realpathSync(path)).digest("hex").slice(0, 16);
afterEach(() => rmSync(root, { recursive: true, force: true }));

function revision(name: string): string {
  const dir = join(root, name, "resources");
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe("the directory source's default owner id", () => {
  it("stays the same when git-sync swaps the link to another revision", () => {
    root = mkdtempSync(join(tmpdir(), "mlops-owner-"));
    const first = revision("rev-1");
    revision("rev-2");
    symlinkSync(join(root, "rev-1"), join(root, "current"));
    const given = join(root, "current", "resources");
    const before = new DirectorySource({ dir: given, store: new StateStore(join(root, "state-1")) });
    expect(before.dir).toBe(first); // it reads the revision the link points at...
    symlinkSync(join(root, "rev-2"), join(root, "current.tmp"));
    renameSync(join(root, "current.tmp"), join(root, "current"));
    const after = new DirectorySource({ dir: given, store: new StateStore(join(root, "state-2")) });
    expect(after.dir).toBe(join(root, "rev-2", "resources"));
    // ...but its id is the path it was given, across the swap (a restart).
    expect(after.defaultOwnerId).toBe(before.defaultOwnerId);
    expect(before.defaultOwnerId).toBe(directoryOwnerId(given));
    expect(directoryOwnerId(given)).not.toBe(directoryOwnerId(first));
    // The id earlier versions took (the real path at start-up) is the one to adopt from.
    expect(before.previousDefaultOwnerIds).toEqual([realPathId(first)]);
    expect(after.previousDefaultOwnerIds).toEqual([realPathId(join(root, "rev-2", "resources"))]);
  });

  it("has no previous default without a link in the path", () => {
    root = mkdtempSync(join(tmpdir(), "mlops-owner-"));
    const dir = revision("plain");
    const source = new DirectorySource({ dir, store: new StateStore(join(root, "state")) });
    expect(source.previousDefaultOwnerIds).toEqual([]);
  });

  it("is the absolute path's hash, whatever the working directory spelled", () => {
    root = mkdtempSync(join(tmpdir(), "mlops-owner-"));
    const dir = revision("plain");
    expect(directoryOwnerId(`${dir}/`)).toBe(directoryOwnerId(dir));
    expect(directoryOwnerId(join(dir, "..", "resources"))).toBe(directoryOwnerId(dir));
    expect(directoryOwnerId(dir)).toMatch(/^[0-9a-f]{16}$/);
  });
});
