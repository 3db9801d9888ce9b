// The JSON log's destination (src/observability/log-destination.ts): a turn's lines handed over as
// one text, in order; nothing lost when the process exits in the middle of a turn.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type LineWriter, TurnBatchedLines } from "../../src/observability/log-destination.ts";

const LOGGER = new URL("../../src/observability/logger.ts", import.meta.url).pathname;
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A writer that keeps what it is handed (and what it was asked to write synchronously). */
function recorder() {
  const writes: string[] = [];
  let flushes = 0;
  const writer: LineWriter = {
    write: (text) => writes.push(text) > 0,
    flushSync: () => {
      flushes++;
    },
  };
  return { writer, writes, flushes: () => flushes };
}

/** Runs `body` (an ES module's code with `createLogger` imported) in a fresh Node; its stderr's JSON lines' msg. */
function child(body: string): { messages: string[]; status: number | null; stderr: string } {
  const code = `import { createLogger } from ${JSON.stringify(LOGGER)};\nconst log = createLogger({ pretty: false });\n${body}`;
  const r = spawnSync(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code],
    {
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  const messages = r.stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
  return { messages, status: r.status, stderr: r.stderr };
}

describe("the JSON log's destination", () => {
  const made: TurnBatchedLines[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const lines of made.splice(0)) lines.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "mlops-log-destination-"));
    dirs.push(dir);
    return dir;
  };
  const batched = (fd: number, writer?: LineWriter) => {
    const lines = new TurnBatchedLines(fd, writer);
    made.push(lines);
    return lines;
  };

  it("hands a turn's lines over as one text, in order, once the turn ends", async () => {
    const { writer, writes } = recorder();
    const lines = batched(2, writer);
    lines.write("a\n");
    lines.write("b\n");
    lines.write("c\n");
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toEqual(["a\nb\nc\n"]);
    lines.write("d\n");
    await turn();
    expect(writes).toEqual(["a\nb\nc\n", "d\n"]);
  });

  it("flush hands the waiting lines over at once and calls back", () => {
    const { writer, writes } = recorder();
    const lines = batched(2, writer);
    lines.write("a\n");
    let called = false;
    lines.flush(() => {
      called = true;
    });
    expect(writes).toEqual(["a\n"]);
    expect(called).toBe(true);
  });

  it("flushSync writes the writer's text first, then the turn's lines, before it returns", () => {
    const path = join(tempDir(), "log");
    const fd = openSync(path, "w");
    try {
      const { writer, flushes } = recorder();
      const lines = batched(fd, writer);
      lines.write("x\n");
      lines.write("y\n");
      lines.flushSync();
      expect(flushes()).toBe(1);
      expect(readFileSync(path, "utf8")).toBe("x\ny\n");
    } finally {
      closeSync(fd);
    }
  });

  it("with sonic-boom behind it, every line of many turns arrives once and in order", async () => {
    const path = join(tempDir(), "log");
    const fd = openSync(path, "w");
    try {
      const lines = batched(fd);
      for (let i = 0; i < 2_000; i++) {
        lines.write(`${i}\n`);
        if (i % 7 === 0) await turn();
      }
      await turn();
      const want = Array.from({ length: 2_000 }, (_, i) => String(i));
      const read = () => readFileSync(path, "utf8").trim().split("\n");
      for (let waited = 0; read().length < want.length && waited < 2_000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(read()).toEqual(want);
    } finally {
      closeSync(fd);
    }
  });

  it("a process that exits in the middle of a turn still writes that turn's lines", () => {
    const r = child(`log.info("one"); log.info("two"); log.info("three"); process.exit(3);`);
    expect(r.status).toBe(3);
    expect(r.messages).toEqual(["one", "two", "three"]);
  });

  it("a process that throws after logging still writes the lines", () => {
    const r = child(`log.info("before"); log.warn("just before"); throw new Error("boom");`);
    expect(r.status).not.toBe(0);
    expect(r.messages).toEqual(["before", "just before"]);
    expect(r.stderr).toContain("boom");
  });

  it("loggers of one process share it: their lines in the order logged, one exit hook for all", () => {
    // "e" in a later turn, and the process left to end by itself: a process.exit() right after it
    // writes "e" from the exit hook while the first turn's write may still be on libuv's pool, and
    // that write may land after it (log-destination.ts says so; seen once in a full `make test`).
    const r = child(
      `const more = Array.from({ length: 20 }, () => createLogger({ pretty: false }));\n` +
        `log.info("a"); more[3].info("b"); log.info("c"); more[19].info("d");\n` +
        `setImmediate(() => more[0].info("e"));`,
    );
    expect(r.status).toBe(0);
    expect(r.messages).toEqual(["a", "b", "c", "d", "e"]);
    expect(r.stderr).not.toContain("MaxListenersExceeded");
  });

  it("thousands of lines over many turns reach stderr once each, in order", () => {
    const r = child(
      `let i = 0; const step = () => { for (let k = 0; k < 5 && i < 3000; k++) log.info(String(i++)); if (i < 3000) setImmediate(step); }; step();`,
    );
    expect(r.status).toBe(0);
    expect(r.messages).toEqual(Array.from({ length: 3_000 }, (_, i) => String(i)));
  });
});
