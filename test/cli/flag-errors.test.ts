// A bad flag value is a usage error (exit 64) that names the flag, the value and what it takes, before
// anything starts: a typo'd `--log-level` was pino's "default level:verbose must be included in
// custom levels", a typo'd `--log-format`, `plan --scheduler` or `version -o` was taken silently, a
// bad number named no flag, and `run --once` over a directory that is not there made a state
// directory beside it and recorded it as the current context before saying so.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXIT } from "../../src/cli/exit.ts";
import { logLevelOf } from "../../src/cli/flags.ts";
import { runCli } from "../../src/cli/program.ts";
import { captured } from "./captured.ts";

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await captured(() => runCli(args));
  if (r.error) throw r.error;
  return { code: r.value as number, out: r.out, err: r.err };
}

let root: string;
let dir: string;
const saved = { XDG_STATE_HOME: process.env.XDG_STATE_HOME, MLOPS_LOG_LEVEL: process.env.MLOPS_LOG_LEVEL };

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "flag-errors-"));
  dir = join(root, "repo");
  process.env.XDG_STATE_HOME = join(root, "xdg");
  delete process.env.MLOPS_LOG_LEVEL;
});

afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(root, { recursive: true, force: true });
});

describe("a bad flag value names the flag, the value and what it takes (exit 64)", () => {
  it.each([
    [["run", "--once", "--concurrency", "0"], "'--concurrency <n>' argument '0'", "a whole number ≥ 1"],
    [["run", "--once", "--timeout", "banana"], "'--timeout <duration>' argument 'banana'", "90s, 5m"],
    [["run", "--prune", "maybe"], "'--prune <bool>' argument 'maybe'", "true or false"],
    [["run", "--max-prune-fraction", "2"], "'--max-prune-fraction <f>' argument '2'", "from 0 to 1"],
    [["run", "--max-prune-count", "-1"], "'--max-prune-count <n>' argument '-1'", "a whole number ≥ 0"],
    [["run", "--scheduler", "k8s"], "'--scheduler <name>' argument 'k8s'", "auto, docker or nomad"],
    [["run", "--source", "git"], "'--source <kind>' argument 'git'", "directory or kubernetes"],
    [["run", "--log-level", "verbose"], "'--log-level <level>' argument 'verbose'", "trace, debug, info"],
    [["run", "--log-format", "text"], "'--log-format <format>' argument 'text'", "json or pretty"],
    [
      ["run", "--leader-elect-lease-duration", "5x"],
      "'--leader-elect-lease-duration <duration>' argument '5x'",
      "90s, 5m",
    ],
    [["plan", "--scheduler", "k8s"], "'--scheduler <name>' argument 'k8s'", "auto, docker or nomad"],
    [["plan", "--startup-timeout", "soon"], "'--startup-timeout <duration>' argument 'soon'", "90s, 5m"],
    [["version", "-o", "xml"], "'-o, --output <format>' argument 'xml'", "json or yaml"],
    [
      ["wait", "tj", "a", "--for", "delete", "--timeout", "banana"],
      "'--timeout <duration>' argument 'banana'",
      "90s",
    ],
  ])("%j", async (args, named, expected) => {
    const r = await cli(...args, ...(args[0] === "run" ? ["--dir", dir] : []));
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain(`option ${named} is invalid`);
    expect(r.err).toContain(expected);
    expect(r.out).toBe("");
  });

  it("checks $MLOPS_LOG_LEVEL as it checks --log-level, naming the variable", async () => {
    process.env.MLOPS_LOG_LEVEL = "loud";
    try {
      const r = await cli("run", "--once", "--dir", dir);
      expect(r.code).toBe(EXIT.usage);
      expect(r.err).toContain('MLOPS_LOG_LEVEL="loud" is invalid: expected one of trace, debug, info');
    } finally {
      delete process.env.MLOPS_LOG_LEVEL;
    }
    expect(logLevelOf({}, { MLOPS_LOG_LEVEL: "debug" })).toBe("debug");
    expect(logLevelOf({ logLevel: "warn" }, { MLOPS_LOG_LEVEL: "debug" })).toBe("warn");
    expect(logLevelOf({}, { MLOPS_LOG_LEVEL: "" })).toBe("info");
  });

  it("version -o yaml prints what -o json does, as YAML", async () => {
    const json = await cli("version", "-o", "json");
    const yaml = await cli("version", "-o", "yaml");
    expect(yaml.code).toBe(EXIT.ok);
    expect(parse(yaml.out)).toEqual(JSON.parse(json.out));
  });
});

describe("run --once over a directory that is not one", () => {
  it.each([
    ["does not exist", () => join(root, "missing")],
    [
      "is not a directory",
      () => {
        const file = join(root, "a-file.yaml");
        writeFileSync(file, "kind: TrainingJob\n");
        return file;
      },
    ],
  ])("%s: fails, naming it, and makes no state directory and no context", async (why, path) => {
    const given = path();
    const r = await cli("run", "--once", "--dir", given, "--scheduler", "docker");
    expect(r.code).toBe(EXIT.failed);
    expect(r.err).toContain(`--dir ${given} ${why}: nothing read, written or pruned`);
    expect(readdirSync(root).filter((name) => name.startsWith(".mlops-state"))).toEqual([]);
    expect(existsSync(join(root, "xdg", "mlopsctl", "current-context"))).toBe(false);
  });
});
