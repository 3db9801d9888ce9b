// `mlopsctl run`'s use of the state I/O worker (run-threads.ts): MLOPS_STATE_INLINE_FILES checked,
// and the CLI's settings applied to the process.
import { afterEach, describe, expect, it } from "vitest";
import {
  configureStateIo,
  INLINE_STATE_FILES,
  inlineStateFiles,
} from "../../src/cli/commands/run-threads.ts";
import { EXIT, ExitError } from "../../src/cli/exit.ts";
import { runIoWorkerInBackground, setInThreadFiles } from "../../src/sources/state/io-worker.ts";

afterEach(() => {
  setInThreadFiles(0);
  runIoWorkerInBackground(false);
});

describe("MLOPS_STATE_INLINE_FILES", () => {
  it("defaults to a few files, takes a count (0: always the worker)", () => {
    expect(inlineStateFiles({})).toBe(INLINE_STATE_FILES);
    expect(INLINE_STATE_FILES).toBe(4);
    expect(inlineStateFiles({ MLOPS_STATE_INLINE_FILES: "" })).toBe(4);
    expect(inlineStateFiles({ MLOPS_STATE_INLINE_FILES: "0" })).toBe(0);
    expect(inlineStateFiles({ MLOPS_STATE_INLINE_FILES: "32" })).toBe(32);
  });

  it("refuses anything but a count, naming the variable and the value", () => {
    for (const value of ["-1", "1.5", "four", " 4", "1e3"]) {
      let error: unknown;
      try {
        inlineStateFiles({ MLOPS_STATE_INLINE_FILES: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ExitError);
      expect((error as ExitError).code).toBe(EXIT.usage);
      expect((error as Error).message).toBe(
        `MLOPS_STATE_INLINE_FILES must be a number of files (0 or more), not ${JSON.stringify(value)}`,
      );
    }
  });

  it("run --once writes every batch itself unless the variable says otherwise", () => {
    expect(inlineStateFiles({}, true)).toBe(Number.POSITIVE_INFINITY);
    expect(inlineStateFiles({ MLOPS_STATE_INLINE_FILES: "" }, true)).toBe(Number.POSITIVE_INFINITY);
    expect(inlineStateFiles({ MLOPS_STATE_INLINE_FILES: "0" }, true)).toBe(0);
    expect(inlineStateFiles({ MLOPS_STATE_INLINE_FILES: "16" }, true)).toBe(16);
    configureStateIo({}, true);
    expect(setInThreadFiles(0)).toBe(Number.POSITIVE_INFINITY);
    configureStateIo({});
    expect(setInThreadFiles(0)).toBe(4);
  });

  it("run's settings reach the state I/O worker's module; a bad value changes nothing", () => {
    configureStateIo({});
    expect(setInThreadFiles(0)).toBe(4);
    configureStateIo({ MLOPS_STATE_INLINE_FILES: "9" });
    expect(setInThreadFiles(0)).toBe(9);
    expect(() => configureStateIo({ MLOPS_STATE_INLINE_FILES: "x" })).toThrow(ExitError);
    expect(setInThreadFiles(0)).toBe(0);
  });
});
