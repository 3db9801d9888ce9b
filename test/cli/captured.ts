// What a command printed: process.stdout and process.stderr captured around `run` (the CLI tests run
// commands in this process), and process.exitCode cleared before and after.
import { vi } from "vitest";

export interface Captured<T> {
  /** What `run` returned, or undefined when it threw (`error` says what). */
  readonly value: T | undefined;
  readonly error?: unknown;
  /** process.exitCode as `run` left it (undefined: not set). */
  readonly exitCode: number | undefined;
  readonly out: string;
  readonly err: string;
}

export async function captured<T>(run: () => Promise<T>): Promise<Captured<T>> {
  let out = "";
  let err = "";
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    const value = await run();
    return { value, exitCode: exitCodeNow(), out, err };
  } catch (error) {
    return { value: undefined, error, exitCode: exitCodeNow(), out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

const exitCodeNow = (): number | undefined =>
  typeof process.exitCode === "number" ? process.exitCode : undefined;
