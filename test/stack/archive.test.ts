// The in-memory tar written for Docker's archive API, read back by GNU tar: paths, owners and modes.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { archiveEntries, configArchive } from "../../src/stack/archive.ts";
import { renderStack } from "../../src/stack/render.ts";
import { tarArchive } from "../../src/stack/tar.ts";
import { containerOf, renderOptions, stackOf } from "./fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "mlops-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `tar -tv --numeric-owner` as [mode, uid/gid, size, path] rows. */
function listing(archive: Buffer): string[][] {
  const path = join(dir, `a-${Math.random().toString(36).slice(2)}.tar`);
  writeFileSync(path, archive);
  return execFileSync("tar", ["-tvf", path, "--numeric-owner"], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => {
      const cols = line.split(/\s+/);
      return [cols[0] ?? "", cols[1] ?? "", cols[2] ?? "", cols.at(-1) ?? ""];
    });
}

describe("tar", () => {
  it("writes files and directories GNU tar reads back with owner, mode and size", () => {
    const rows = listing(
      tarArchive([
        { path: "etc/app", type: "directory", mode: 0o755, uid: 472, gid: 0 },
        { path: "etc/app/a.yml", type: "file", content: "x: 1\n", mode: 0o640, uid: 472, gid: 0 },
        { path: `deep/${"d".repeat(120)}/f.txt`, type: "file", content: "é", mode: 0o400, uid: 1, gid: 2 },
      ]),
    );
    expect(rows).toEqual([
      ["drwxr-xr-x", "472/0", "0", "etc/app/"],
      ["-rw-r-----", "472/0", "5", "etc/app/a.yml"],
      ["-r--------", "1/2", "2", `deep/${"d".repeat(120)}/f.txt`],
    ]);
  });

  it.each(["/etc/passwd", "etc/../../x"])("refuses the unsafe path %s", (path) => {
    expect(() => tarArchive([{ path, type: "file", content: "", mode: 0o644, uid: 0, gid: 0 }])).toThrow(
      /relative/,
    );
  });
});

describe("configArchive", () => {
  const desired = renderStack(stackOf(), renderOptions);

  it("gives Grafana's files to uid 472 and keeps the secrets directory private", () => {
    const rows = listing(configArchive(containerOf(desired, "grafana")));
    expect(rows.every((r) => r[1] === "472/0")).toBe(true);
    expect(rows).toContainEqual(["drwx------", "472/0", "0", "etc/grafana/secrets/"]);
    expect(rows).toContainEqual(["-r--------", "472/0", "6", "etc/grafana/secrets/admin-password"]);
    expect(rows.find((r) => r[3] === "etc/grafana/provisioning/datasources/")?.[0]).toBe("drwxr-xr-x");
  });

  it.each([
    ["consul", "100/1000", "consul/config/mlops.json"],
    ["nomad", "0/0", "etc/nomad.d/mlops.hcl"],
    ["prometheus", "65534/65534", "etc/prometheus/prometheus.yml"],
  ] as const)("owns %s's files by %s", (component, owner, file) => {
    const entries = archiveEntries(containerOf(desired, component));
    expect(entries.map((e) => e.path)).toContain(file);
    expect(listing(configArchive(containerOf(desired, component))).every((r) => r[1] === owner)).toBe(true);
  });
});
