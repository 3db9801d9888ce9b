import { describe, expect, it } from "vitest";
import { type InspectedContainer, metricsAddress, replicaOf } from "../../src/scheduler/docker/observe.ts";

function container(
  labels: Record<string, string>,
  networks: Record<string, { IPAddress?: string }>,
): InspectedContainer {
  return {
    Id: "c1",
    Name: "/mlops.default.job.0",
    Created: "2026-01-01T00:00:00Z",
    RestartCount: 0,
    State: {
      Status: "running",
      Running: true,
      Restarting: false,
      OOMKilled: false,
      ExitCode: 0,
      Error: "",
      StartedAt: "2026-01-01T00:00:01Z",
      FinishedAt: "0001-01-01T00:00:00Z",
    },
    Config: { Labels: labels, Image: "trainer" },
    HostConfig: {},
    NetworkSettings: { Networks: networks },
  };
}

describe("metrics address of a Docker replica", () => {
  const table: [string, InspectedContainer, string | undefined][] = [
    [
      "IP on its network and the metrics port",
      container({ "mlops.dev/metrics-port": "8000" }, { "mlops-network": { IPAddress: "172.20.5.7" } }),
      "172.20.5.7:8000",
    ],
    ["no metrics declared", container({}, { bridge: { IPAddress: "172.17.0.2" } }), undefined],
    [
      "no IP (network none)",
      container({ "mlops.dev/metrics-port": "8000" }, { none: { IPAddress: "" } }),
      undefined,
    ],
  ];
  for (const [name, c, expected] of table) {
    it(name, () => {
      expect(metricsAddress(c)).toBe(expected);
      expect(replicaOf(c, 0, undefined).address).toBe(expected);
    });
  }
});
