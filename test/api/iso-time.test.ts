// isoTime: Date.prototype.toISOString, one string per millisecond.
import { describe, expect, it } from "vitest";
import { isoTime } from "../../src/api/iso-time.ts";
import { debugPrints } from "./v8-debug.ts";

describe("isoTime", () => {
  it("writes what toISOString writes, for each instant in any order", () => {
    const instants = [0, 1_765_000_000_123, 1_765_000_000_123, 1_765_000_000_124, 0, -1, 8.64e15];
    for (const ms of instants) expect(isoTime(new Date(ms))).toBe(new Date(ms).toISOString());
  });

  it("throws toISOString's RangeError for an invalid date, and goes on after it", () => {
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
    expect(isoTime(new Date(5))).toBe("1970-01-01T00:00:00.005Z");
  });

  // V8's own view: two calls in one millisecond give the one string (one address), the next
  // millisecond another.
  it("gives the same string to every call for the same millisecond", () => {
    const script = `
      const at = Date.UTC(2026, 11, 7, 12, 0, 0, 250);
      %DebugPrint(isoTime(new Date(at)));
      %DebugPrint(isoTime(new Date(at)));
      %DebugPrint(isoTime(new Date(at + 1)));`;
    const out = debugPrints({ "../../src/api/iso-time.ts": "isoTime" }, script);
    const addresses = [...out.matchAll(/^DebugPrint: (0x[0-9a-f]+)/gm)].map((m) => m[1]);
    expect(addresses).toHaveLength(3);
    expect(addresses[1]).toBe(addresses[0]);
    expect(addresses[2]).not.toBe(addresses[0]);
  });

  // Reconciles in flight stamp their instants in turn: an instant seen a few calls ago still gives
  // its string, one seen more than 256 distinct instants ago a new one.
  it("gives an earlier millisecond's string back after calls for other milliseconds", () => {
    const script = `
      const at = Date.UTC(2026, 11, 7, 12, 0, 0, 250);
      %DebugPrint(isoTime(new Date(at)));
      isoTime(new Date(at + 1));
      isoTime(new Date(at + 2));
      %DebugPrint(isoTime(new Date(at)));
      for (let i = 1; i <= 300; i++) isoTime(new Date(at + 1000 + i));
      %DebugPrint(isoTime(new Date(at)));`;
    const out = debugPrints({ "../../src/api/iso-time.ts": "isoTime" }, script);
    const addresses = [...out.matchAll(/^DebugPrint: (0x[0-9a-f]+)/gm)].map((m) => m[1]);
    expect(addresses).toHaveLength(3);
    expect(addresses[1]).toBe(addresses[0]);
    expect(addresses[2]).not.toBe(addresses[0]);
    expect(out).toContain("2026-12-07T12:00:00.250Z");
  });
});
