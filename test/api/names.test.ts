import { describe, expect, it } from "vitest";
import {
  checkLabel,
  consulServiceName,
  DOCKER_NAME,
  NOMAD_SERVICE_NAME,
  STACK_COMPONENTS,
  stackContainerName,
  stackVolumeName,
  stateFileName,
  trainingContainerName,
} from "../../src/api/names.ts";

// Adversarial (namespace, name) pairs: the dashes that would make naive joins collide, the longest
// names, and names that differ only where a shortening would cut.
const long = "a".repeat(63);
const pairs: [string, string][] = [
  ["default", "train"],
  ["a-b", "c"],
  ["a", "b-c"],
  ["ab", "c"],
  ["a", "bc"],
  ["team-x", "job-1"],
  ["team", "x-job-1"],
  [long, long],
  [long, `${"a".repeat(62)}b`],
  [`${"a".repeat(62)}b`, long],
  ["default", `${"x".repeat(60)}-01`],
  ["default", `${"x".repeat(60)}-02`],
  ["ns", "tj"],
  ["n", "s-tj"],
];

describe("derived names", () => {
  const derivations: [string, (ns: string, name: string) => string, RegExp, number][] = [
    ["consul service", consulServiceName, NOMAD_SERVICE_NAME, 63],
    ["training container", (ns, n) => trainingContainerName(ns, n, 0), DOCKER_NAME, 255],
    [
      "state file",
      (ns, n) => stateFileName("TrainingJob", ns, n),
      /^trainingjob\/[a-z0-9-]+\/[a-z0-9-]+\.json$/,
      255,
    ],
  ];
  for (const [what, derive, rule, max] of derivations) {
    it(`${what} names are valid and injective over adversarial pairs`, () => {
      const seen = new Map<string, string>();
      for (const [ns, name] of pairs) {
        const derived = derive(ns, name);
        expect(derived, `${ns}/${name}`).toMatch(rule);
        expect(derived.length).toBeLessThanOrEqual(max);
        const other = seen.get(derived);
        expect(other, `${ns}/${name} collides with ${other}`).toBeUndefined();
        seen.set(derived, `${ns}/${name}`);
      }
    });
  }

  it("stack container and volume names are injective across stacks and components", () => {
    const seen = new Set<string>();
    for (const [ns, stack] of pairs) {
      for (const component of STACK_COMPONENTS) {
        for (const name of [
          stackContainerName(ns, stack, component),
          stackVolumeName(ns, stack, component),
        ]) {
          expect(name).toMatch(DOCKER_NAME);
          expect(seen.has(name), name).toBe(false);
          seen.add(name);
        }
      }
    }
  });

  it("replicas of one job get distinct containers", () => {
    expect(new Set([0, 1, 2, 10].map((i) => trainingContainerName("ns", "job", i))).size).toBe(4);
  });

  it("consul service names keep a readable prefix", () => {
    expect(consulServiceName("default", "bert")).toMatch(/^tj-bert-[0-9a-f]{10}$/);
  });
});

describe("checkLabel", () => {
  const table: [string, boolean][] = [
    ["train", true],
    ["a", true],
    ["a-1", true],
    [long, true],
    [`${long}a`, false],
    ["", false],
    ["-a", false],
    ["a-", false],
    ["A", false],
    ["a_b", false],
    ["a.b", false],
    ["../x", false],
    ["a/b", false],
  ];
  for (const [value, ok] of table) {
    it(`${JSON.stringify(value)} is ${ok ? "valid" : "rejected"}`, () => {
      expect(checkLabel(value) === undefined).toBe(ok);
    });
  }
});
