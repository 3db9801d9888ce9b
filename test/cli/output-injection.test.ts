// Values from users cannot forge a line or act on the terminal in what mlopsctl prints: file names
// in validate, names, labels, env values and messages in describe, get and plan, log lines.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Command } from "commander";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderDescribe } from "../../src/cli/commands/describe.ts";
import { rowsFor } from "../../src/cli/commands/get.ts";
import { render } from "../../src/cli/commands/plan.ts";
import { registerValidate } from "../../src/cli/commands/validate.ts";
import { printableArguments } from "../../src/observability/logger.ts";
import type { StatusRecord } from "../../src/sources/state/index.ts";

const ESC = "\u001b";
const FORGED = "\nfake.yaml:1:1: OK\u001b[2J\u001b[H\r\u202e";

/** No control character other than the newlines that end lines; no forged line. */
function assertClean(output: string, lines: number): void {
  const unsafe = [...output].filter((ch) => {
    const c = ch.charCodeAt(0);
    return (
      (c < 0x20 && c !== 0x0a) ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      (c >= 0x202a && c <= 0x202e)
    );
  });
  expect(unsafe).toEqual([]);
  expect(output).not.toContain(ESC);
  expect(output.split("\n").filter((l) => l.startsWith("fake.yaml"))).toEqual([]);
  expect(output.split("\n").length).toBe(lines);
}

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "mlops-inject-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe("output injection", () => {
  it("validate: a file name with a newline and escape sequences stays on its own line, escaped", async () => {
    writeFileSync(join(tmp, `evil${FORGED}.yaml`), "\0");
    const program = new Command("mlopsctl").exitOverride();
    registerValidate(program);
    let err = "";
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((c) => {
      err += String(c);
      return true;
    });
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await program.parseAsync(["validate", tmp], { from: "user" });
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
      process.exitCode = undefined;
    }
    assertClean(err, 2);
    expect(err).toContain("evil\\nfake.yaml:1:1: OK\\x1b[2J\\x1b[H\\r\\u202e.yaml:1:1: binary file");
  });

  const record = (): StatusRecord =>
    ({
      apiVersion: "mlops.dev/v1alpha1",
      kind: "TrainingJob",
      metadata: {
        name: `job${FORGED}`,
        namespace: "default",
        generation: 1,
        labels: { [`team${FORGED}`]: `v${FORGED}` },
        annotations: { note: `a${FORGED}` },
      },
      spec: { image: `img${FORGED}`, env: { TOKEN_HINT: `x${FORGED}` } },
      specHash: "h",
      status: {
        phase: `Running${FORGED}`,
        conditions: [
          {
            type: "Ready",
            status: "False",
            reason: `Bad${FORGED}`,
            message: `m${FORGED}`,
            lastTransitionTime: "2026-01-01T00:00:00Z",
            observedGeneration: 1,
          },
        ],
      },
    }) as unknown as StatusRecord;

  it("describe: names, labels, annotations, env values, conditions and events are escaped", () => {
    const out = renderDescribe(
      record(),
      [
        {
          type: "Warning",
          reason: `R${FORGED}`,
          message: `event${FORGED}`,
          count: 1,
          firstTimestamp: "2026-01-01T00:00:00Z",
          lastTimestamp: "2026-01-01T00:00:00Z",
        },
      ],
      new Date("2026-01-02T00:00:00Z"),
    );
    const expected = renderDescribe(
      JSON.parse(JSON.stringify(record()).replaceAll(JSON.stringify(FORGED).slice(1, -1), "X")),
      [
        {
          type: "Warning",
          reason: "RX",
          message: "eventX",
          count: 1,
          firstTimestamp: "2026-01-01T00:00:00Z",
          lastTimestamp: "2026-01-01T00:00:00Z",
        },
      ],
      new Date("2026-01-02T00:00:00Z"),
    );
    assertClean(out, expected.split("\n").length);
    expect(out).toContain("Name:         job\\nfake.yaml:1:1: OK\\x1b[2J");
  });

  it("get: table cells are escaped", () => {
    const out = rowsFor("TrainingJob", [record()], true, false, new Date());
    assertClean(out, 3);
  });

  it("plan: keys, details and field diffs are escaped", () => {
    const out = render([
      {
        key: `TrainingJob/default/x${FORGED}` as never,
        action: "update",
        detail: `d${FORGED}`,
        fields: [`f${FORGED}`],
      },
    ]);
    assertClean(out, 4);
  });

  it("pretty logs: messages and string fields are made printable before formatting", () => {
    let written = "";
    const sink = new Writable({
      write(chunk, _enc, done) {
        written += String(chunk);
        done();
      },
    });
    const log = pino({ hooks: { logMethod: printableArguments } }, sink);
    log.warn({ file: `a${FORGED}` }, `msg${FORGED}`);
    const entry = JSON.parse(written) as { msg: string; file: string };
    expect(entry.msg).toBe("msg\\nfake.yaml:1:1: OK\\x1b[2J\\x1b[H\\r\\u202e");
    expect(entry.file).not.toContain("\n");
  });
});
