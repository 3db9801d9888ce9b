// Warnings of memory running short (memory-headroom.ts): a live heap near V8's limit, a
// restart needing more than the cgroup's memory limit, each once until it falls back; and the cgroup's
// limit read as the launcher reads it (v2 memory.max, v1 memory.limit_in_bytes, "no limit" as none).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  cgroupMemoryLimit,
  MemoryHeadroom,
  memoryUse,
  restartNeed,
} from "../../src/controller/memory-headroom.ts";

function headroom() {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const log = {
    warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
  };
  return { warnings, check: new MemoryHeadroom(log as unknown as Logger) };
}

const MiB = 2 ** 20;

describe("MemoryHeadroom", () => {
  it("warns once the live heap passes 75 % of V8's limit, again only after it fell under 65 %", () => {
    const { warnings, check } = headroom();
    const heap = (mib: number) => check.check({ heapUsed: mib * MiB, heapLimit: 100 * MiB, anonymous: MiB });
    heap(74);
    expect(warnings).toEqual([]);
    heap(80);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toEqual({ liveMiB: 80, limitMiB: 100 });
    expect(warnings[0]?.message).toBe(
      'the heap holds 80 MiB after a full collection, 80 % of its 100 MiB limit: more resources and the operator ends with "JavaScript heap out of memory". Give it more memory: a container needs 128 MB + ~8 KB per resource it holds, or raise MLOPSCTL_MAX_OLD_SPACE_MB where the limit is bin/mlopsctl\'s cap of 1024 MiB',
    );
    heap(90);
    heap(70);
    heap(85);
    expect(warnings).toHaveLength(1);
    heap(64);
    heap(76);
    expect(warnings).toHaveLength(2);
  });

  it("warns once a restart would need more than the cgroup's memory limit; none without one", () => {
    const { warnings, check } = headroom();
    const anonymous = (mib: number, memoryLimit?: number) =>
      check.check({
        heapUsed: MiB,
        heapLimit: 100 * MiB,
        anonymous: mib * MiB,
        ...(memoryLimit ? { memoryLimit } : {}),
      });
    anonymous(500);
    expect(warnings).toEqual([]);
    anonymous(145, 256 * MiB); // needs 1.5 × 145 + 37 = 254.5 MiB
    expect(warnings).toHaveLength(0);
    anonymous(160, 256 * MiB); // needs 277 MiB (20,000 resources measured so)
    expect(warnings.map((w) => w.fields)).toEqual([
      { anonymousMiB: 160, restartNeedMiB: 277, memoryLimitMiB: 256 },
    ]);
    expect(warnings[0]?.message).toBe(
      "the operator holds 160 MiB of anonymous memory settled; a restart or a burst of changes needs about 277 MiB, and its cgroup's memory limit is 256 MiB: short of it the operator ends (\"JavaScript heap out of memory\", or the kernel's OOM kill). Give it more memory: a container needs 128 MB + ~8 KB per resource it holds",
    );
    anonymous(200, 256 * MiB);
    anonymous(140, 256 * MiB); // needs 247 MiB: not a tenth of the limit below it
    anonymous(160, 256 * MiB);
    expect(warnings).toHaveLength(1);
    anonymous(128, 256 * MiB); // needs 229 MiB, under 230.4
    anonymous(150, 256 * MiB);
    expect(warnings).toHaveLength(2);
  });

  it("estimates at least what each measured restart needed (bench/memory-limit.ts --cold)", () => {
    // Anonymous memory held settled and the least limit a restart settled in, 10,000, 20,000, 50,000 resources.
    for (const [held, least] of [
      [103, 176],
      [160, 256],
      [321, 448],
    ] as const)
      expect(restartNeed(held * MiB) / MiB, `${held} MiB held`).toBeGreaterThanOrEqual(least);
  });

  it("measures this process: a heap within its limit, its anonymous memory", () => {
    const use = memoryUse();
    expect(use.heapUsed).toBeGreaterThan(0);
    expect(use.heapLimit).toBeGreaterThan(use.heapUsed);
    expect(use.anonymous).toBeGreaterThan(use.heapUsed / 4);
  });
});

describe("cgroupMemoryLimit", () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function fakeRoot(cgroup: string, files: Record<string, string>): string {
    root = mkdtempSync(join(tmpdir(), "mlops-cgroup-"));
    mkdirSync(join(root, "proc/self"), { recursive: true });
    writeFileSync(join(root, "proc/self/cgroup"), cgroup);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  it("reads cgroup v2's memory.max at the process's path", () => {
    expect(
      cgroupMemoryLimit(fakeRoot("0::/pod/op\n", { "sys/fs/cgroup/pod/op/memory.max": "268435456\n" })),
    ).toBe(268435456);
  });

  it("reads cgroup v1's memory.limit_in_bytes where the memory controller is mounted", () => {
    const cgroup = "5:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n";
    const files = { "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "536870912\n" };
    expect(cgroupMemoryLimit(fakeRoot(cgroup, files))).toBe(536870912);
  });

  it("reads the mount's root where the named path has none (a container on cgroup v1)", () => {
    // Docker on cgroup v1: /proc/self/cgroup names the host's path, the container's own cgroup is
    // mounted at /sys/fs/cgroup/memory.
    const cgroup = "4:memory:/docker/0123abcd\n";
    const files = { "sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456\n" };
    expect(cgroupMemoryLimit(fakeRoot(cgroup, files))).toBe(268435456);
    rmSync(root, { recursive: true, force: true });
    // The named path wins where it has a file (a cgroup on this host).
    const both = { ...files, "sys/fs/cgroup/memory/docker/0123abcd/memory.limit_in_bytes": "134217728\n" };
    expect(cgroupMemoryLimit(fakeRoot(cgroup, both))).toBe(134217728);
  });

  it("has none for v2's max, v1's no-limit value, or files it cannot read", () => {
    expect(cgroupMemoryLimit(fakeRoot("0::/a\n", { "sys/fs/cgroup/a/memory.max": "max\n" }))).toBeUndefined();
    rmSync(root, { recursive: true, force: true });
    const v1 = { "sys/fs/cgroup/memory/b/memory.limit_in_bytes": "9223372036854771712\n" };
    expect(cgroupMemoryLimit(fakeRoot("4:memory:/b\n", v1))).toBeUndefined();
    rmSync(root, { recursive: true, force: true });
    expect(cgroupMemoryLimit(fakeRoot("4:memory:/gone\n", {}))).toBeUndefined();
    rmSync(root, { recursive: true, force: true });
    root = mkdtempSync(join(tmpdir(), "mlops-cgroup-"));
    expect(cgroupMemoryLimit(root)).toBeUndefined(); // no /proc/self/cgroup
  });
});
