import { describe, expect, it, vi } from "vitest";
import { LineCounter, parseDocument } from "yaml";
import {
  formatLocated,
  loadBytes,
  loadText,
  locate,
  MAX_FILE_BYTES,
  tooDeep,
} from "../../src/sources/yaml/index.ts";

const JOB = `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata:
  name: train
spec:
  image: registry.local/train:1
`;

/** Every problem of a file, formatted as validate prints it. */
function problems(text: string, file = "job.yaml"): string[] {
  const load = loadText(file, text);
  return [
    ...load.fileIssues.map((i) => formatLocated(i)),
    ...load.documents.flatMap((d) => (d.ok ? [] : d.located.map((i) => formatLocated(i)))),
  ];
}

describe("locate: JSON path → line:col", () => {
  const text = `spec:
  image: x
  resources:
    gpus: "two"
  env:
    - name: A
      value: b
    - {name: C, value: d}
list: &l [1, 2]
again: *l
`;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  it.each([
    { path: ["spec", "image"], line: 2, col: 3 },
    { path: ["spec", "resources", "gpus"], line: 4, col: 5 },
    { path: ["spec", "env", 0, "value"], line: 7, col: 7 },
    { path: ["spec", "env", 1, "name"], line: 8, col: 8 },
    { path: ["spec", "env", 1], line: 8, col: 7 },
    // missing: the nearest existing ancestor (the key opening the parent mapping)
    { path: ["spec", "resources", "memoryMB"], line: 3, col: 3 },
    { path: ["spec", "missing", "deeper"], line: 1, col: 1 },
    { path: ["spec", "env", 5, "name"], line: 5, col: 3 },
    // through an alias
    { path: ["again", 1], line: 9, col: 14 },
    { path: [], line: 1, col: 1 },
  ])("$path → $line:$col", ({ path, line, col }) => {
    expect(locate(doc, lines, path)).toEqual({ line, col });
  });
});

describe("loadText: validation issues located in the file", () => {
  it.each([
    {
      name: "unknown field with a did-you-mean hint",
      text: `${JOB}  replica: 3\n`,
      want: ['job.yaml:7:3: spec.replica unknown field (did you mean "replicas"?)'],
    },
    {
      name: "wrong type",
      text: `${JOB}  resources: {gpus: two}\n`,
      want: ["job.yaml:7:15: spec.resources.gpus must be an integer"],
    },
    {
      name: "missing required field points at the parent",
      text: "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: x\nspec:\n  replicas: 2\n",
      want: ["job.yaml:5:1: spec.image is required"],
    },
    {
      name: "path traversal in a name",
      text: JOB.replace("name: train", "name: ../x"),
      want: [expect.stringMatching(/^job\.yaml:4:3: metadata\.name must be a DNS-1123 label/)],
    },
    {
      name: "path traversal in a namespace",
      text: JOB.replace("name: train", "name: train\n  namespace: ../../etc"),
      want: [expect.stringMatching(/^job\.yaml:5:3: metadata\.namespace must be a DNS-1123 label/)],
    },
    {
      name: "duplicate keys are errors",
      text: `${JOB}  image: other\n`,
      want: ["job.yaml:7:3: Map keys must be unique"],
    },
    {
      name: "YAML syntax error",
      text: `${JOB}  args: [a, b\n`,
      want: [
        "job.yaml:8:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
      ],
    },
    {
      name: "wrong apiVersion of our group",
      text: JOB.replace("v1alpha1", "v9"),
      want: ['job.yaml:1:1: apiVersion must be "mlops.dev/v1alpha1" (got "mlops.dev/v9")'],
    },
  ])("$name", ({ text, want }) => {
    expect(problems(text)).toEqual(want);
  });

  it("multi-document files: each document validated, other groups skipped, lines per document", () => {
    const text = `${JOB}---\napiVersion: apps/v1\nkind: Deployment\n---\n# nothing\n---\n${JOB.replace("train", "second")}  replicas: 0\n`;
    const load = loadText("multi.yaml", text);
    expect(load.skipped).toBe(1);
    expect(load.ours).toBe(true);
    expect(load.documents.map((d) => d.ok)).toEqual([true, false]);
    expect(problems(text, "multi.yaml")).toEqual(["multi.yaml:19:3: spec.replicas must be ≥ 1"]);
  });

  it("a valid document gets defaults and generation 0, and its position", () => {
    const [doc] = loadText("job.yaml", `# leading comment\n${JOB}`).documents;
    expect(doc?.ok).toBe(true);
    if (!doc?.ok) return;
    expect(doc.resource.metadata).toEqual({ name: "train", namespace: "default", generation: 0 });
    expect(doc.resource.kind === "TrainingJob" && doc.resource.spec.replicas).toBe(1);
    expect([doc.line, doc.col]).toEqual([2, 1]);
  });

  it("a document without apiVersion but with one of our kinds is ours (and invalid)", () => {
    const load = loadText("x.yaml", "kind: TrainingJob\nmetadata: {name: a}\nspec: {image: x}\n");
    expect(load.ours).toBe(true);
    expect(problems("kind: TrainingJob\nmetadata: {name: a}\nspec: {image: x}\n")[0]).toMatch(
      /^job\.yaml:1:1: apiVersion/,
    );
  });

  it("other YAML (a workflow) is skipped, not an error", () => {
    const load = loadText("ci.yaml", "name: ci\non: [push]\njobs: {}\n");
    expect(load).toMatchObject({ skipped: 1, ours: false, documents: [], fileIssues: [] });
  });
});

describe("hostile input", () => {
  const bomb = `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: {name: bomb}
spec:
  image: x
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
`;
  it("alias bomb: refused quickly with a located message", () => {
    const t0 = performance.now();
    const out = problems(bomb, "bomb.yaml");
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(out).toEqual([expect.stringMatching(/^bomb\.yaml:1:1: too many aliases \(more than 100\)/)]);
  });

  it("10 MB file: refused without parsing", () => {
    const bytes = new Uint8Array(10 * 1024 * 1024).fill(0x61);
    const load = loadBytes("huge.yaml", bytes);
    expect(load.documents).toEqual([]);
    expect(load.fileIssues.map((i) => formatLocated(i))).toEqual([
      `huge.yaml:1:1: file is ${10 * 1024 * 1024} bytes, more than the limit of ${MAX_FILE_BYTES} (4 MiB)`,
    ]);
  });

  it("binary file (NUL byte) and invalid UTF-8", () => {
    const binary = loadBytes("model.yaml", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]));
    expect(binary.fileIssues[0]?.message).toBe("binary file (NUL byte at offset 4): not YAML");
    const latin = loadBytes("latin.yaml", new Uint8Array([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(latin.fileIssues[0]?.message).toBe("file is not valid UTF-8: not YAML");
  });

  it.each([
    { name: "flow sequences", text: `a: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`, line: 1, col: 68 },
    { name: "flow mappings", text: `${"{a: ".repeat(10_000)}${"}".repeat(10_000)}\n`, line: 1, col: 257 },
    { name: "compact block sequences", text: `a:\n  ${"- ".repeat(10_000)}x\n`, line: 2, col: 131 },
  ])("10,000-deep nesting ($name): refused before parsing", ({ text, line, col }) => {
    const t0 = performance.now();
    expect(tooDeep(text)).toEqual({ line, col });
    expect(problems(text)).toEqual([`job.yaml:${line}:${col}: nesting deeper than 64 levels`]);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("collection keys: no process warning reaches the terminal", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    try {
      expect(problems(`${JOB}  ? [a]\n  : 1\n`)).toEqual(["job.yaml:5:1: spec.[ a ] unknown field"]);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it.each([
    {
      name: "a million document markers",
      text: "---\n".repeat(1_000_000),
      want: "job.yaml:1001:1: more than 1000 documents in one file",
    },
    {
      name: "two million flow entries",
      text: `a: [${"1,".repeat(2_000_000)}1]\n`,
      want: "job.yaml:1:100006: more than 50000 entries in one file: not a resource file",
    },
    {
      name: "forty thousand aliases",
      text: `x: &x 1\n${Array.from({ length: 40_000 }, (_, i) => `k${i}: *x`).join("\n")}`,
      want: "job.yaml:102:7: more than 100 aliases: refused as a resource-exhaustion attack",
    },
    {
      name: "a few aliases in a large file",
      text: `x: &x 1\na: *x\n${Array.from({ length: 10_000 }, (_, i) => `k${i}: 1`).join("\n")}`,
      want: "job.yaml:2002:1: more than 2000 entries in a file that uses aliases: refused as a resource-exhaustion attack",
    },
  ])("$name: refused before parsing, quickly", ({ text, want }) => {
    const t0 = performance.now();
    expect(problems(text)).toEqual([want]);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("ordinary nesting and brackets inside strings are fine", () => {
    expect(tooDeep(`${JOB}  args: ["[[x]]", "{a}"]\n  env: [{name: A, value: "[1]"}]\n`)).toBeUndefined();
  });
});
