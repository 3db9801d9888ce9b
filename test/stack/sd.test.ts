import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { type ScrapeTarget, sdGroups, sdHandler } from "../../src/stack/sd.ts";

const targets: ScrapeTarget[] = [
  {
    address: "172.20.0.7:9100",
    metricsPath: "/metrics",
    namespace: "team-b",
    name: "resnet",
    labels: { replica: "0" },
  },
  {
    address: "172.20.0.5:8000",
    metricsPath: "/prom",
    namespace: "default",
    name: "mnist",
    labels: { replica: "1", __bad: "x", "bad-name": "y", job: "ignored" },
  },
];

describe("sdGroups", () => {
  it("lists one group per target in a stable order with Prometheus's reserved labels set by the operator", () => {
    expect(sdGroups(targets)).toEqual([
      {
        targets: ["172.20.0.5:8000"],
        labels: {
          replica: "1",
          __metrics_path__: "/prom",
          job: "mlops-trainingjobs",
          mlops_namespace: "default",
          mlops_name: "mnist",
        },
      },
      {
        targets: ["172.20.0.7:9100"],
        labels: {
          replica: "0",
          __metrics_path__: "/metrics",
          job: "mlops-trainingjobs",
          mlops_namespace: "team-b",
          mlops_name: "resnet",
        },
      },
    ]);
  });

  it("answers an empty list (not null) when nothing runs", () => {
    expect(sdGroups([])).toEqual([]);
  });
});

describe("sdHandler", () => {
  it("serves the groups as JSON on GET and refuses other methods", async () => {
    const server = createServer(sdHandler({ targets: () => targets }));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sd/prometheus`;
    try {
      const ok = await fetch(url);
      expect(ok.headers.get("content-type")).toBe("application/json");
      expect(await ok.json()).toEqual(sdGroups(targets));
      expect((await fetch(url, { method: "POST" })).status).toBe(405);
    } finally {
      server.close();
    }
  });
});
