// Two MlopsStacks of one operator on one engine: what the second cannot have (a network of the same
// name, an overlapping subnet, a host port), named with the stack that claims it first.
import { describe, expect, it } from "vitest";
import { stackConflicts } from "../../src/stack/conflicts.ts";
import { stackOf } from "./fixtures.ts";

/**
 * A stack on network `net` of `subnet` (components at .10, .20, .30, .40 of `prefix`), publishing
 * consul, nomad, prometheus and grafana on `ports`.
 */
function stack(
  id: { name: string; namespace: string },
  net: string,
  subnet: string,
  prefix: string,
  ports: readonly [number, number, number, number],
) {
  const [consul, nomad, prometheus, grafana] = ports;
  return stackOf(
    {
      network: { name: net, subnet },
      consul: { ip: `${prefix}.10`, hostPort: consul },
      nomad: { ip: `${prefix}.20`, hostPort: nomad },
      prometheus: { ip: `${prefix}.30`, hostPort: prometheus },
      grafana: { ip: `${prefix}.40`, hostPort: grafana },
    },
    id.name,
    id.namespace,
  );
}

describe("stackConflicts", () => {
  const seed = stackOf({}, "platform", "default");

  it("the seed's stack twice: the second shares its network and every host port", () => {
    const second = stackOf({}, "platform", "team-b");
    expect(stackConflicts([seed, second])).toEqual(
      new Map([
        [
          "MlopsStack/team-b/platform",
          {
            with: "MlopsStack/default/platform",
            what: ["network mlops-network", "host ports 8500, 4646, 9090, 3000"],
          },
        ],
      ]),
    );
  });

  it("stacks on networks and ports of their own do not conflict; an overlapping subnet or one port does", () => {
    const own = stack(
      { name: "lab", namespace: "other" },
      "lab",
      "172.21.0.0/16",
      "172.21.0",
      [18500, 14646, 19090, 13000],
    );
    expect(stackConflicts([seed, own]).size).toBe(0);
    const overlapping = stack(
      { name: "lab2", namespace: "other" },
      "lab2",
      "172.20.128.0/24",
      "172.20.128",
      [18501, 14647, 19091, 13001],
    );
    expect(stackConflicts([seed, overlapping]).get("MlopsStack/other/lab2")?.what).toEqual([
      "subnet 172.20.128.0/24 (overlaps 172.20.0.0/16)",
    ]);
    const onePort = stack(
      { name: "lab3", namespace: "other" },
      "lab3",
      "172.23.0.0/16",
      "172.23.0",
      [18502, 14648, 9090, 13002],
    );
    expect(stackConflicts([seed, onePort]).get("MlopsStack/other/lab3")?.what).toEqual(["host port 9090"]);
  });

  it("names the first stack that claims it, whichever comes first in the order given", () => {
    const a = stack(
      { name: "shared", namespace: "a" },
      "shared",
      "172.22.0.0/16",
      "172.22.0",
      [28500, 24646, 29090, 23000],
    );
    const b = stack(
      { name: "shared", namespace: "b" },
      "shared",
      "172.22.0.0/16",
      "172.22.0",
      [28501, 24647, 29091, 23001],
    );
    expect([...stackConflicts([a, b]).entries()]).toEqual([
      ["MlopsStack/b/shared", { with: "MlopsStack/a/shared", what: ["network shared"] }],
    ]);
    expect([...stackConflicts([b, a]).keys()]).toEqual(["MlopsStack/a/shared"]);
  });
});
