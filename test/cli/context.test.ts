// Contexts: `mlopsctl run` records where it runs; reading commands find it without flags.
// Missing and corrupt files, two operators at once, and the precedence of explicit settings.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { contextsTable } from "../../src/cli/commands/config.ts";
import {
  ContextError,
  contextHome,
  contextName,
  contextNotice,
  currentContextName,
  listContexts,
  type MlopsContext,
  readContext,
  recordContext,
  resolveTarget,
  useContext,
} from "../../src/cli/context.ts";

let home = "";
let env: NodeJS.ProcessEnv = {};

const ctx = (name: string, dir: string, extra: Partial<MlopsContext> = {}): MlopsContext => ({
  name,
  source: "directory",
  dir,
  stateDir: `${dir}-state`,
  metricsAddr: "127.0.0.1:9464",
  ownerId: `owner-${name}`,
  startedAt: "2026-12-04T10:00:00.000Z",
  ...extra,
});

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "mlopsctl-ctx-"));
  env = { XDG_STATE_HOME: home, HOME: "/nonexistent" };
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("context names", () => {
  it.each([
    ["directory", "examples/quickstart", "quickstart"],
    ["directory", "/srv/repos/My_Team.Jobs/", "my-team-jobs"],
    ["directory", "/", "default"],
    ["kubernetes", "kind-dev", "kubernetes-kind-dev"],
    [
      "kubernetes",
      "arn:aws:eks:eu-west-1:1234:cluster/prod",
      "kubernetes-arn-aws-eks-eu-west-1-1234-cluster-prod",
    ],
  ] as const)("%s %s → %s", (source, from, name) => {
    expect(contextName(source, from)).toBe(name);
  });

  it("are at most 63 characters and never end in a dash", () => {
    const name = contextName("directory", `/x/${"a".repeat(62)}-b`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});

describe("the context files", () => {
  it("live under $XDG_STATE_HOME/mlopsctl, else ~/.local/state/mlopsctl", () => {
    expect(contextHome(env)).toBe(join(home, "mlopsctl"));
    expect(contextHome({ HOME: "/home/u" })).toMatch(/\.local\/state\/mlopsctl$/);
  });

  it("missing: no current context, nothing listed, reading commands use the current directory", () => {
    expect(currentContextName(env)).toBeUndefined();
    expect(listContexts(env)).toEqual({ contexts: [], problems: [] });
    expect(resolveTarget({}, env)).toEqual({ dir: "." });
  });

  it("a recorded context becomes current and reads back whole", async () => {
    await recordContext(ctx("quickstart", "/repo/examples/quickstart"), env);
    expect(currentContextName(env)).toBe("quickstart");
    expect(readContext("quickstart", env)).toEqual(ctx("quickstart", "/repo/examples/quickstart"));
    const target = resolveTarget({}, env);
    expect(target.dir).toBe("/repo/examples/quickstart");
    expect(target.stateDir).toBe("/repo/examples/quickstart-state");
    expect(contextNotice(target, "/repo")).toBe(
      'mlopsctl: context "quickstart" (examples/quickstart, state directory examples/quickstart-state)',
    );
  });

  it("two operators started at once each keep their context; the last started is current", async () => {
    await Promise.all([
      recordContext(ctx("team-a", "/repos/team-a"), env),
      recordContext(ctx("team-b", "/repos/team-b"), env),
    ]);
    expect(listContexts(env).contexts.map((c) => c.name)).toEqual(["team-a", "team-b"]);
    expect(["team-a", "team-b"]).toContain(currentContextName(env));
    await recordContext(ctx("team-a", "/repos/team-a"), env);
    expect(currentContextName(env)).toBe("team-a");
    expect(resolveTarget({}, env).dir).toBe("/repos/team-a");
  });

  it("a corrupt context file is an error naming the file, and the others still list", async () => {
    await recordContext(ctx("good", "/repos/good"), env);
    await writeFile(join(home, "mlopsctl", "contexts", "broken.json"), "{ not json");
    await writeFile(join(home, "mlopsctl", "contexts", "shape.json"), JSON.stringify({ source: "ftp" }));
    const listed = listContexts(env);
    expect(listed.contexts.map((c) => c.name)).toEqual(["good"]);
    expect(listed.problems).toHaveLength(2);
    expect(listed.problems[0]).toContain(join(home, "mlopsctl", "contexts", "broken.json"));
    expect(listed.problems[1]).toMatch(/shape\.json: source must be "directory" or "kubernetes"/);
    await writeFile(join(home, "mlopsctl", "current-context"), "broken\n");
    expect(() => resolveTarget({}, env)).toThrow(ContextError);
    expect(() => resolveTarget({}, env)).toThrow(/broken\.json: not valid JSON/);
  });

  it("a corrupt current-context file is an error naming it; an empty one means none", async () => {
    await mkdir(join(home, "mlopsctl"), { recursive: true });
    await writeFile(join(home, "mlopsctl", "current-context"), "../../etc/passwd\n");
    expect(() => currentContextName(env)).toThrow(
      /current-context: "\.\.\/\.\.\/etc\/passwd" is not a context name/,
    );
    await writeFile(join(home, "mlopsctl", "current-context"), "\n");
    expect(currentContextName(env)).toBeUndefined();
  });

  it("a context named by the current-context file but since removed falls back to the current directory", async () => {
    await recordContext(ctx("gone", "/repos/gone"), env);
    await rm(join(home, "mlopsctl", "contexts", "gone.json"));
    expect(resolveTarget({}, env)).toEqual({ dir: "." });
  });

  it("writes replace files atomically: no temporary file is left behind", async () => {
    await recordContext(ctx("one", "/repos/one"), env);
    await recordContext(ctx("one", "/repos/one", { metricsAddr: "127.0.0.1:9999" }), env);
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(join(home, "mlopsctl", "contexts"))).toEqual(["one.json"]);
    expect(
      JSON.parse(await readFile(join(home, "mlopsctl", "contexts", "one.json"), "utf8")).metricsAddr,
    ).toBe("127.0.0.1:9999");
  });

  it("use-context switches; an unknown name is an error listing the known ones", async () => {
    await recordContext(ctx("a", "/repos/a"), env);
    await recordContext(ctx("b", "/repos/b"), env);
    await useContext("a", env);
    expect(currentContextName(env)).toBe("a");
    await expect(useContext("c", env)).rejects.toThrow(/no context "c" .*\(known: a, b\)/);
    await expect(useContext("../x", env)).rejects.toThrow(/invalid context name/);
  });
});

describe("precedence: --dir/--state-dir > MLOPS_STATE_DIR > --mlops-context / MLOPSCTL_CONTEXT > current > .", () => {
  beforeEach(async () => {
    await recordContext(ctx("other", "/repos/other"), env);
    await recordContext(ctx("current", "/repos/current"), env);
  });

  it("the current context when nothing is given", () => {
    expect(resolveTarget({}, env).context?.name).toBe("current");
  });

  it("MLOPSCTL_CONTEXT over the current context, --mlops-context over both", () => {
    expect(resolveTarget({}, { ...env, MLOPSCTL_CONTEXT: "other" }).dir).toBe("/repos/other");
    expect(resolveTarget({ mlopsContext: "current" }, { ...env, MLOPSCTL_CONTEXT: "other" }).dir).toBe(
      "/repos/current",
    );
  });

  it("an unknown context name is an error naming where it came from", () => {
    expect(() => resolveTarget({}, { ...env, MLOPSCTL_CONTEXT: "nope" })).toThrow(
      /MLOPSCTL_CONTEXT: no context "nope" \(known: current, other\)/,
    );
    expect(() => resolveTarget({ mlopsContext: "nope" }, env)).toThrow(/--mlops-context: no context "nope"/);
  });

  it("MLOPS_STATE_DIR over any context", () => {
    expect(resolveTarget({ mlopsContext: "other" }, { ...env, MLOPS_STATE_DIR: "/state" })).toEqual({
      dir: ".",
      stateDir: "/state",
    });
  });

  it("--dir and --state-dir over everything", () => {
    const loud = { ...env, MLOPS_STATE_DIR: "/state", MLOPSCTL_CONTEXT: "other" };
    expect(resolveTarget({ dir: "jobs" }, loud)).toEqual({ dir: "jobs" });
    expect(resolveTarget({ stateDir: "/mine", mlopsContext: "other" }, loud)).toEqual({
      dir: ".",
      stateDir: "/mine",
    });
    expect(resolveTarget({ dir: "jobs" }, loud).context).toBeUndefined();
  });
});

describe("mlopsctl config get-contexts", () => {
  it("marks the current context and shows where each watches", async () => {
    await recordContext(ctx("a", "/repos/a"), env);
    await recordContext(ctx("b", "/repos/b", { metricsAddr: undefined } as never), env);
    await useContext("a", env);
    const lines = contextsTable(env, "/repos").trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CURRENT\s+NAME\s+SOURCE\s+WATCHES\s+STATE DIRECTORY\s+METRICS$/);
    expect(lines[1]).toMatch(/^\*\s+a\s+directory\s+a\s+a-state\s+127\.0\.0\.1:9464$/);
    expect(lines[2]).toMatch(/^\s+b\s+directory\s+b\s+b-state\s+<none>$/);
  });
});
