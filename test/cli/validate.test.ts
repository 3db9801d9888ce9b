import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registerValidate, validatePaths } from "../../src/cli/commands/validate.ts";
import { loadText } from "../../src/sources/yaml/index.ts";
import { captured } from "./captured.ts";

const FIXTURES = "test/fixtures/validate";

/** Runs `mlopsctl validate ...args` through a commander program; returns exit code and output. */
async function validate(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = new Command("mlopsctl").exitOverride();
  registerValidate(program);
  const r = await captured(() => program.parseAsync(["validate", ...args], { from: "user" }));
  if (r.error) throw r.error;
  return { code: r.exitCode ?? 0, out: r.out, err: r.err };
}

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "mlops-validate-test-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe("mlopsctl validate", () => {
  it("a valid directory: summary on stdout, one notice for other YAML, exit 0", async () => {
    const r = await validate(`${FIXTURES}/good`);
    expect(r).toEqual({
      code: 0,
      out: "2 resources valid\n",
      err: "note: skipped 2 documents of other API groups\n",
    });
  });

  it("every error as path:line:col: message on stderr, summary on stdout, exit 1", async () => {
    const r = await validate(`${FIXTURES}/bad/typo.yaml`, `${FIXTURES}/bad/traversal.yaml`);
    expect(r.code).toBe(1);
    expect(r.err.split("\n")).toEqual([
      `${FIXTURES}/bad/typo.yaml:7:3: spec.replica unknown field (did you mean "replicas"?)`,
      `${FIXTURES}/bad/typo.yaml:9:5: spec.resources.gpus must be ≥ 0`,
      `${FIXTURES}/bad/traversal.yaml:4:3: metadata.name must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit`,
      "",
    ]);
    expect(r.out).toBe("3 errors in 2 files\n");
  });

  it("duplicate resources across files name both files", async () => {
    const r = await validate(`${FIXTURES}/bad/dup-a.yaml`, `${FIXTURES}/bad/dup-b.yaml`);
    expect(r.err).toBe(
      `${FIXTURES}/bad/dup-b.yaml:1:1: TrainingJob/default/twice is also defined in ${FIXTURES}/bad/dup-a.yaml:1:1: duplicate resource\n`,
    );
    expect(r).toMatchObject({ code: 1, out: "1 error in 1 file\n" });
  });

  it("a file named twice (or inside a directory also named) is read once, not a duplicate of itself", async () => {
    const good = `${FIXTURES}/good`;
    for (const args of [
      [good, `${good}/job.yaml`],
      [`${good}/job.yaml`, good],
      [`${good}/job.yaml`, `./${good}/job.yaml`],
    ]) {
      const r = await validate(...args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.out).toBe(args.includes(good) ? "2 resources valid\n" : "1 resource valid\n");
    }
  });

  it("a file named explicitly without any mlops.dev resource is an error", async () => {
    const r = await validate(`${FIXTURES}/good/team/workflow.yaml`);
    expect(r).toMatchObject({ code: 1, out: "1 error in 1 file\n" });
    expect(r.err).toBe(
      `${FIXTURES}/good/team/workflow.yaml:1:1: no mlops.dev resource in this file (apiVersion mlops.dev/v1alpha1)\n`,
    );
  });

  it.each([
    {
      name: "binary",
      bytes: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]),
      want: "1:1: binary file (NUL byte at offset 4): not YAML",
    },
    {
      name: "10 MB",
      bytes: Buffer.alloc(10 * 1024 * 1024, "a"),
      want: "1:1: file is 10485760 bytes, more than the limit of 4194304 (4 MiB)",
    },
    {
      name: "deep",
      bytes: Buffer.from(`a: ${"[".repeat(10_000)}`),
      want: "1:68: nesting deeper than 64 levels",
    },
    {
      name: "alias bomb",
      bytes: Buffer.from(
        `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: b}\nspec:\n  image: x\n  a: &a [x,x,x,x,x,x,x,x,x,x]\n${["b", "c", "d", "e", "f", "g"].map((k, i) => `  ${k}: &${k} [${`*${"abcdef"[i]},`.repeat(9)}*${"abcdef"[i]}]`).join("\n")}\n`,
      ),
      want: "1:1: too many aliases (more than 100): refused as a resource-exhaustion attack",
    },
  ])("hostile input ($name): a located error, no stack trace", async ({ bytes, want }) => {
    const file = join(tmp, "hostile.yaml");
    writeFileSync(file, bytes);
    const r = await validate(file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${file}:${want}\n`);
    expect(r.out).toBe("1 error in 1 file\n");
  });

  it("broken YAML: an error whether named explicitly or found in a directory (it blocks pruning)", async () => {
    const file = join(tmp, "broken.yaml");
    writeFileSync(file, "name: ci\njobs: [unclosed\n");
    const named = await validate(file);
    expect(named).toMatchObject({ code: 1, out: "1 error in 1 file\n" });
    expect(named.err).toMatch(new RegExp(`^${file}:3:1: Flow sequence in block collection`));
    writeFileSync(
      join(tmp, "job.yaml"),
      "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: a}\nspec: {image: x}\n",
    );
    const found = await validate(tmp);
    expect(found).toMatchObject({ code: 1, out: "1 error in 1 file\n" });
    expect(found.err).toMatch(new RegExp(`^${tmp}/broken.yaml:3:1: Flow sequence in block collection`));
    writeFileSync(join(tmp, ".mlopsignore"), "broken.yaml\n");
    expect(await validate(tmp)).toEqual({ code: 0, out: "1 resource valid\n", err: "" });
  });

  it("binary, empty and non-regular entries in a directory are errors naming path and reason", async () => {
    writeFileSync(
      join(tmp, "job.yaml"),
      "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: a}\nspec: {image: x}\n",
    );
    writeFileSync(join(tmp, "model.yaml"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00]));
    writeFileSync(join(tmp, "empty.yaml"), "");
    writeFileSync(join(tmp, "kept-empty.yaml"), "# nothing here on purpose\n");
    symlinkSync("/etc/passwd", join(tmp, "passwd.yaml"));
    const r = await validate(tmp);
    expect(r.code).toBe(1);
    expect(r.err.split("\n").sort()).toEqual([
      "",
      `${tmp}/empty.yaml:1:1: empty file (0 bytes): unreadable; write a comment or \`---\` to keep a deliberately empty file`,
      `${tmp}/model.yaml:1:1: binary file (NUL byte at offset 4): not YAML`,
      `${tmp}/passwd.yaml:1:1: unreadable: symbolic link leads out of the tree (to /etc/passwd): not read`,
    ]);
    expect(r.out).toBe("3 errors in 3 files\n");
  });

  it("a missing path is an error, not a crash", async () => {
    const r = await validate(join(tmp, "nope.yaml"));
    expect(r).toEqual({
      code: 1,
      out: "1 error in 1 file\n",
      err: `${join(tmp, "nope.yaml")}:1:1: no such file or directory\n`,
    });
  });
});

describe("validatePaths with loads at hand (run --once, files unchanged since the source read them)", () => {
  const good = "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: a}\nspec: {image: x}\n";
  const broken = "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: b}\nspec: {image: 7}\n";

  it("reports as reading would, the known load's problems under the name shown", async () => {
    writeFileSync(join(tmp, "a.yaml"), good);
    writeFileSync(join(tmp, "b.yaml"), broken);
    const read = await validatePaths([tmp]);
    const asked: string[] = [];
    const known = await validatePaths([tmp], {
      known: (path) => {
        asked.push(path);
        return path.endsWith("b.yaml") ? loadText("/the/source/named/it/b.yaml", broken) : undefined;
      },
    });
    expect(asked).toEqual([join(tmp, "a.yaml"), join(tmp, "b.yaml")]);
    expect(read.errors).toEqual([
      { file: join(tmp, "b.yaml"), line: 4, col: 8, message: "spec.image must be of type string" },
    ]);
    expect(known).toEqual(read);
  });

  it("a known load stands for its file: the file is not read again", async () => {
    writeFileSync(join(tmp, "b.yaml"), good);
    const report = await validatePaths([tmp], { known: () => loadText(join(tmp, "b.yaml"), broken) });
    expect(report.errors.map((e) => e.message)).toEqual(["spec.image must be of type string"]);
    expect(report.resources).toBe(0);
  });
});
