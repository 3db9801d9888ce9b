// bin/mlopsctl caps V8's old generation (default 1024 MB, MLOPSCTL_MAX_OLD_SPACE_MB to change it):
// below 2 GB V8 lets the old generation grow to 1.3–2× what a major collection left live instead of
// 4× (src/heap/heap-controller.cc, MaxGrowingFactor), which was most of the operator's peak RSS. In a
// cgroup with a memory limit it sizes the old generation from that limit (docs/benchmarks.md, round 23).
// Read from the process bin/mlopsctl starts: a preload prints its heap limit at exit.
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startNomadDouble } from "../doubles/nomad/index.ts";
import { HEAP_LIMIT_PRELOAD, heapLimitMb } from "./heap-limit.ts";
import { memoryCgroup } from "./memory-cgroup.ts";

const exec = promisify(execFile);
const MLOPSCTL = join(new URL("../../", import.meta.url).pathname, "bin/mlopsctl");

function version(maxOldSpaceMb: string, cgroup?: string) {
  // In `cgroup`: the shell moves itself there, then runs the launcher (which reads its own cgroup).
  const [command, args] = cgroup
    ? ["sh", ["-c", 'echo $$ > "$1/cgroup.procs" && exec "$2" version', "sh", cgroup, MLOPSCTL]]
    : [MLOPSCTL, ["version"]];
  return spawnSync(command, args, {
    encoding: "utf8",
    timeout: 30_000,
    env: {
      ...process.env,
      MLOPSCTL_MAX_OLD_SPACE_MB: maxOldSpaceMb,
      NODE_OPTIONS: `--import=${HEAP_LIMIT_PRELOAD}`,
    },
  });
}

/** The heap limit (old generation plus young) of `mlopsctl version`, in MB. */
function versionHeapLimitMb(maxOldSpaceMb: string, cgroup?: string): number {
  const r = version(maxOldSpaceMb, cgroup);
  expect(r.status, r.stderr).toBe(0);
  return heapLimitMb(r.stderr);
}

describe("bin/mlopsctl's old-generation cap", () => {
  it("is 1024 MB unless MLOPSCTL_MAX_OLD_SPACE_MB says otherwise", () => {
    expect(totalmem() / 2 ** 20, "this case needs 4 GB of memory or more").toBeGreaterThanOrEqual(4096);
    const byDefault = versionHeapLimitMb("");
    expect(byDefault).toBeGreaterThanOrEqual(1024);
    expect(byDefault).toBeLessThan(1024 + 64); // the young generation: 3 semi-spaces of 8 MB at most
    const raised = versionHeapLimitMb("3000");
    expect(raised).toBeGreaterThanOrEqual(3000);
    expect(raised).toBeLessThan(3000 + 64);
  });

  // Run as root where cgroup v1's memory controller is mounted (these machines, CI): elsewhere it
  // cannot make a cgroup and says so, failing under CI=true.
  async function inCgroup(mb: number, check: (dir: string) => void | Promise<void>): Promise<void> {
    const cgroup = memoryCgroup("mlops-launcher", mb);
    if ("why" in cgroup) {
      if (process.env.CI === "true") throw new Error(`cannot make a memory cgroup: ${cgroup.why}`);
      console.warn(`skipped: cannot make a memory cgroup: ${cgroup.why}`);
      return;
    }
    try {
      await check(cgroup.dir);
    } finally {
      cgroup.remove();
    }
  }
  /** The old generation's limit in `mb`'s range (the young generation: 3 semi-spaces of 8 MB at most). */
  const expectOldSpace = (limit: number, mb: number) => {
    expect(limit).toBeGreaterThanOrEqual(mb);
    expect(limit).toBeLessThan(mb + 64);
  };

  it("sizes it from a cgroup's memory limit: all of it but 96 MB, at least half of it", async () => {
    // Node's own limit in these cgroups is ~280 MB: over 256 MB the kernel killed the operator
    // before V8 collected; over 1 GiB V8 ran out of heap at ~536 MB.
    await inCgroup(1024, (dir) => expectOldSpace(versionHeapLimitMb("", dir), 1024 - 96));
    await inCgroup(256, (dir) => expectOldSpace(versionHeapLimitMb("", dir), 256 - 96));
    await inCgroup(160, (dir) => expectOldSpace(versionHeapLimitMb("", dir), 160 / 2));
  });

  it("is what the operator says it starts with, beside the cgroup's limit", async () => {
    // Asynchronously: the Nomad double answers from this process.
    const nomad = await startNomadDouble();
    const root = mkdtempSync(join(tmpdir(), "mlops-launcher-run-"));
    await inCgroup(256, async (dir) => {
      mkdirSync(join(root, "repo"));
      writeFileSync(
        join(root, "repo", "bert.yaml"),
        "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: bert}\nspec: {image: registry.example/bert:1}\n",
      );
      const args = ["run", "--once", "--dir", join(root, "repo"), "--state-dir", join(root, "state")];
      args.push("--scheduler", "nomad", "--nomad-addr", nomad.address, "--log-format", "json");
      const { stdout, stderr } = await exec(
        "sh",
        ["-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", dir, MLOPSCTL, ...args],
        {
          timeout: 60_000,
          env: { ...process.env, XDG_STATE_HOME: root, MLOPSCTL_CONTEXT: "", MLOPSCTL_MAX_OLD_SPACE_MB: "" },
        },
      );
      const starting = `${stdout}${stderr}`
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { msg?: string; heapLimitMiB?: number; memoryLimitMiB?: number })
        .find((entry) => entry.msg === "operator starting");
      expect(starting?.memoryLimitMiB, stdout + stderr).toBe(256);
      expectOldSpace(starting?.heapLimitMiB ?? 0, 256 - 96);
    }).finally(async () => {
      await nomad.close();
      rmSync(root, { recursive: true, force: true });
    });
  }, 90_000);

  it("takes MLOPSCTL_MAX_OLD_SPACE_MB over the cgroup's limit", async () => {
    await inCgroup(1024, (dir) => expectOldSpace(versionHeapLimitMb("1024", dir), 1024));
  });

  it("refuses a MLOPSCTL_MAX_OLD_SPACE_MB that is not a number, naming it", () => {
    const r = version("1g");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("MLOPSCTL_MAX_OLD_SPACE_MB must be a number of megabytes, not '1g'");
  });
});

// glibc's allocator, tuned by the launcher: 2 arenas and a fixed trim threshold (docs/benchmarks.md,
// round 8), blocks of 8 KiB and more mapped on their own (rounds 25, 26), unless the caller set any.
// Read from the environment of the Node process it starts.
describe("bin/mlopsctl's allocator settings", () => {
  const ENV_PRELOAD = `data:text/javascript,${encodeURIComponent(
    'process.on("exit", () => process.stderr.write("malloc " + JSON.stringify([process.env.MALLOC_ARENA_MAX, process.env.MALLOC_TRIM_THRESHOLD_, process.env.MALLOC_MMAP_THRESHOLD_]) + "\\n"));',
  )}`;
  function mallocEnv(env: Record<string, string | undefined>): unknown {
    const base: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--import=${ENV_PRELOAD}` };
    delete base.MALLOC_ARENA_MAX;
    delete base.MALLOC_TRIM_THRESHOLD_;
    delete base.MALLOC_MMAP_THRESHOLD_;
    for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
    const r = spawnSync(MLOPSCTL, ["version"], { encoding: "utf8", timeout: 30_000, env: base });
    expect(r.status, r.stderr).toBe(0);
    const line = /malloc (.*)/.exec(r.stderr)?.[1];
    expect(line, r.stderr).toBeDefined();
    return JSON.parse(line as string);
  }

  /** The flags the launcher starts Node with, for `env`. */
  function nodeFlags(env: NodeJS.ProcessEnv): string[] {
    const preload = `data:text/javascript,${encodeURIComponent('process.stderr.write("argv " + JSON.stringify(process.execArgv) + "\\n");')}`;
    const r = spawnSync(MLOPSCTL, ["version"], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, ...env, NODE_OPTIONS: `--import=${preload}` },
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(/argv (.*)/.exec(r.stderr)?.[1] ?? "[]") as string[];
  }

  it("turns V8's memory reducer off (the operator compacts its heap itself)", () => {
    expect(nodeFlags({ MLOPSCTL_V8_FLAGS: "" })).toContain("--no-memory-reducer");
  });

  it("adds the V8 flags of MLOPSCTL_V8_FLAGS after its own", () => {
    const flags = nodeFlags({ MLOPSCTL_V8_FLAGS: "--no-maglev  --stack-trace-limit=50" });
    expect(
      flags.slice(flags.indexOf("--no-memory-reducer") + 1, flags.indexOf("--no-memory-reducer") + 3),
    ).toEqual(["--no-maglev", "--stack-trace-limit=50"]);
  });

  it("sets 2 arenas, a 128 KiB trim threshold and an 8 KiB mapping threshold by default", () => {
    expect(mallocEnv({})).toEqual(["2", "131072", "8192"]);
  });

  it("keeps what the caller set", () => {
    expect(mallocEnv({ MALLOC_ARENA_MAX: "8" })).toEqual(["8", "131072", "8192"]);
    expect(mallocEnv({ MALLOC_TRIM_THRESHOLD_: "1048576" })).toEqual(["2", "1048576", "8192"]);
    expect(mallocEnv({ MALLOC_MMAP_THRESHOLD_: "131072" })).toEqual(["2", "131072", "131072"]);
  });
});
