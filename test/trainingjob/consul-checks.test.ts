import { describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import type { HealthCheck } from "../../src/clients/consul/types.ts";
import {
  aggregateHealth,
  changedKeys,
  operatorChecksFilter,
  ownerFromMeta,
  worse,
} from "../../src/trainingjob/adapters/consul-checks.ts";
import type { CheckStatus, ServiceHealth } from "../../src/trainingjob/ports.ts";

const check = (ServiceID: string, CheckID: string, Status: CheckStatus, Output = ""): HealthCheck => ({
  Node: "n1",
  CheckID,
  Name: CheckID,
  Status,
  Output,
  ServiceID,
  ServiceName: "svc",
  ServiceTags: ["mlops-operator"],
});

const A: ResourceKey = "TrainingJob/default/a";
const B: ResourceKey = "TrainingJob/ml/b";
const owners: Record<string, ResourceKey> = { a1: A, a2: A, b1: B };
const ownerOf = (id: string): ResourceKey | undefined => owners[id];

describe("ownerFromMeta", () => {
  it.each([
    [{ mlops_namespace: "default", mlops_name: "a" }, "TrainingJob/default/a"],
    [{ mlops_namespace: "default" }, undefined],
    [{ mlops_name: "a" }, undefined],
    [{ mlops_namespace: "Default", mlops_name: "a" }, undefined],
    [{ mlops_namespace: "default", mlops_name: "a/b" }, undefined],
    [null, undefined],
  ])("%j → %s", (meta, expected) => {
    expect(ownerFromMeta(meta)).toBe(expected);
  });
});

describe("worse", () => {
  it.each([
    ["passing", "warning", "warning"],
    ["critical", "warning", "critical"],
    ["critical", "maintenance", "maintenance"],
    ["passing", "passing", "passing"],
  ] as const)("%s vs %s → %s", (a, b, expected) => {
    expect(worse(a, b)).toBe(expected);
    expect(worse(b, a)).toBe(expected);
  });
});

describe("aggregateHealth", () => {
  it.each<[string, HealthCheck[], Record<string, ServiceHealth>]>([
    ["no checks", [], {}],
    [
      "all passing: instances counted once each",
      [check("a1", "c1", "passing"), check("a1", "c2", "passing"), check("a2", "c1", "passing")],
      { [A]: { status: "passing", instances: 2, output: "" } },
    ],
    [
      "worst status wins, with the output of the first check in that status",
      [
        check("a2", "c1", "critical", "a2 refused"),
        check("a1", "c2", "warning", "slow"),
        check("a1", "c1", "critical", "a1 refused"),
      ],
      { [A]: { status: "critical", instances: 2, output: "a1 refused" } },
    ],
    [
      "resources kept apart; node checks and unowned services ignored",
      [
        check("", "serfHealth", "critical", "node down"),
        check("stranger", "c1", "critical"),
        check("b1", "c1", "warning", "429"),
        check("a1", "c1", "passing", "200 OK"),
      ],
      {
        [A]: { status: "passing", instances: 1, output: "" },
        [B]: { status: "warning", instances: 1, output: "429" },
      },
    ],
  ])("%s", (_, checks, expected) => {
    expect(Object.fromEntries(aggregateHealth(checks, ownerOf))).toEqual(expected);
  });
});

describe("changedKeys", () => {
  const h = (status: CheckStatus, instances = 1, output = ""): ServiceHealth => ({
    status,
    instances,
    output,
  });
  it.each<[string, [ResourceKey, ServiceHealth][], [ResourceKey, ServiceHealth][], ResourceKey[]]>([
    ["nothing changed", [[A, h("passing")]], [[A, h("passing")]], []],
    ["status changed", [[A, h("passing")]], [[A, h("critical")]], [A]],
    ["instances changed", [[A, h("passing", 1)]], [[A, h("passing", 2)]], [A]],
    ["output changed", [[A, h("critical", 1, "x")]], [[A, h("critical", 1, "y")]], [A]],
    ["appeared and disappeared", [[A, h("passing")]], [[B, h("passing")]], [B, A]],
  ])("%s", (_, before, after, expected) => {
    expect(changedKeys(new Map(before), new Map(after))).toEqual(expected);
  });
});

it("filters the operator's checks by tag in ServiceTags", () => {
  expect(operatorChecksFilter()).toBe('"mlops-operator" in ServiceTags');
});
