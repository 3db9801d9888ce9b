import { describe, expect, it } from "vitest";
import {
  type FullRead,
  isMassPrune,
  judgeAbsence,
  pruneDisabled,
} from "../../src/sources/directory/index.ts";

const read = (seq: number, at: number, version: number, clean = true): FullRead => ({
  seq,
  at,
  version,
  clean,
});
const SETTLE = 2000;

describe("judgeAbsence", () => {
  const cases: [string, FullRead | undefined, FullRead, ReturnType<typeof judgeAbsence>][] = [
    [
      "first clean read starts the interval",
      undefined,
      read(1, 0, 5),
      { verdict: "wait", first: read(1, 0, 5), dueAt: 2000 },
    ],
    ["an unclean read forgets the first read", read(1, 0, 5), read(2, 3000, 5, false), { verdict: "wait" }],
    ["an unclean first read starts nothing", undefined, read(1, 0, 5, false), { verdict: "wait" }],
    [
      "too soon: wait until the interval ends",
      read(1, 0, 5),
      read(2, 1999, 5),
      { verdict: "wait", first: read(1, 0, 5), dueAt: 2000 },
    ],
    [
      "the tree changed between the reads: restart from this one",
      read(1, 0, 5),
      read(2, 5000, 6),
      { verdict: "wait", first: read(2, 5000, 6), dueAt: 7000 },
    ],
    [
      "settled and quiet: prune",
      read(1, 0, 5),
      read(2, 2000, 5),
      { verdict: "prune", first: read(1, 0, 5), second: read(2, 2000, 5) },
    ],
    [
      "long after, quiet: prune",
      read(3, 100, 9),
      read(9, 60_000, 9),
      { verdict: "prune", first: read(3, 100, 9), second: read(9, 60_000, 9) },
    ],
  ];
  it.each(cases)("%s", (_name, first, current, expected) => {
    expect(judgeAbsence(first, current, SETTLE)).toEqual(expected);
  });
});

describe("isMassPrune (defaults: more than 0.5 and more than 10)", () => {
  const limits = { maxFraction: 0.5, maxCount: 10, allow: false };
  const cases: [number, number, boolean][] = [
    [0, 0, false],
    [10, 10, false], // all of them, but not more than ten
    [11, 22, false], // exactly half
    [11, 21, true],
    [11, 11, true],
    [500, 1000, false],
    [501, 1000, true],
  ];
  it.each(cases)("%i of %i → %s", (count, total, expected) => {
    expect(isMassPrune(count, total, limits)).toBe(expected);
    expect(isMassPrune(count, total, { ...limits, allow: true })).toBe(false);
  });
  it("custom limits", () => {
    expect(isMassPrune(2, 3, { maxFraction: 0.5, maxCount: 1, allow: false })).toBe(true);
    expect(isMassPrune(2, 3, { maxFraction: 1, maxCount: 1, allow: false })).toBe(false);
  });
});

describe("pruneDisabled", () => {
  it.each([
    [undefined, false],
    [{}, false],
    [{ "mlops.dev/prune": "disabled" }, true],
    [{ "mlops.dev/prune": "Disabled" }, false],
    [{ "mlops.dev/prune": "enabled" }, false],
  ])("%j → %s", (annotations, expected) => {
    expect(pruneDisabled(annotations)).toBe(expected);
  });
});
