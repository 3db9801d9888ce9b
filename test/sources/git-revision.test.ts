import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DirectorySource, findGitDir, gitRevision } from "../../src/sources/directory/index.ts";
import { StateStore } from "../../src/sources/state/index.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "mlops-git-test-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function layout(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

describe("Git revision from .git files (no shell)", () => {
  it.each([
    {
      name: "loose ref",
      files: { ".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": `${A}\n` },
      want: A,
    },
    {
      name: "packed ref",
      files: {
        ".git/HEAD": "ref: refs/heads/main\n",
        ".git/packed-refs": `# pack-refs with: peeled\n${B} refs/heads/main\n^${A}\n`,
      },
      want: B,
    },
    { name: "detached HEAD", files: { ".git/HEAD": `${A}\n` }, want: A },
    { name: "unborn branch", files: { ".git/HEAD": "ref: refs/heads/main\n" }, want: undefined },
    { name: "ref escaping the git dir", files: { ".git/HEAD": "ref: ../../etc/passwd\n" }, want: undefined },
    {
      name: "worktree (.git file with gitdir and commondir)",
      files: {
        ".git": "gitdir: main.git/worktrees/wt\n",
        "main.git/worktrees/wt/HEAD": "ref: refs/heads/feature\n",
        "main.git/worktrees/wt/commondir": "../..\n",
        "main.git/refs/heads/feature": `${B}\n`,
      },
      want: B,
    },
    { name: "not a work tree", files: { "x.yaml": "" }, want: undefined },
  ])("$name", ({ files, want }) => {
    layout(files);
    mkdirSync(join(root, "deploy", "jobs"), { recursive: true });
    expect(gitRevision(join(root, "deploy", "jobs"))).toBe(want);
  });

  it("a FIFO in place of HEAD or a ref is not read (the reader would block): no revision", () => {
    layout({ ".git/refs/heads/main": `${A}\n` });
    execFileSync("mkfifo", [join(root, ".git", "HEAD")]);
    expect(gitRevision(root)).toBeUndefined();
    rmSync(join(root, ".git", "HEAD"));
    layout({ ".git/HEAD": "ref: refs/heads/main\n" });
    rmSync(join(root, ".git", "refs", "heads", "main"));
    execFileSync("mkfifo", [join(root, ".git", "refs", "heads", "main")]);
    expect(gitRevision(root)).toBeUndefined();
  });

  it("matches `git rev-parse HEAD` of a real repository, and the source reports it", async () => {
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], {
        cwd: root,
        encoding: "utf8",
      }).trim();
    try {
      git("init", "-q", "-b", "main");
    } catch {
      return; // git is not installed: the table above covers the file formats
    }
    mkdirSync(join(root, "jobs"));
    writeFileSync(
      join(root, "jobs", "a.yaml"),
      "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: a}\nspec: {image: x}\n",
    );
    git("add", ".");
    git("commit", "-q", "-m", "one");
    git("pack-refs", "--all");
    const head = git("rev-parse", "HEAD");
    expect(findGitDir(join(root, "jobs"))).toBe(join(root, ".git"));
    const source = new DirectorySource({
      dir: join(root, "jobs"),
      store: new StateStore(join(root, "state")),
      once: true,
    });
    await source.start();
    expect(source.revision()).toBe(head);
    await source.close();
  });
});
