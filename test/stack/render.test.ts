import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { stackContainerName, stackVolumeName } from "../../src/api/names.ts";
import { LABELS } from "../../src/stack/model.ts";
import { dynamicRange, renderStack } from "../../src/stack/render.ts";
import { containerOf, OWNER, renderOptions, stackOf } from "./fixtures.ts";

describe("renderStack: the seed's platform from defaults", () => {
  const desired = renderStack(stackOf(), renderOptions);

  it.each([
    ["consul", "hashicorp/consul:1.20.2", "172.20.0.10", 8500, "100:1000"],
    ["nomad", "hashicorp/nomad:1.9.6", "172.20.0.20", 4646, "0:0"],
    ["prometheus", "prom/prometheus:v2.55.1", "172.20.0.30", 9090, "65534:65534"],
    ["grafana", "grafana/grafana:11.5.2", "172.20.0.40", 3000, "472:0"],
  ] as const)(
    "%s: image %s at %s:%d as user %s, published on loopback",
    (component, image, ip, port, user) => {
      const c = containerOf(desired, component);
      expect(c).toMatchObject({ image, ip, port, hostPort: port, user });
      expect(c.name).toBe(stackContainerName("default", "platform", component));
      expect(c.labels).toMatchObject({
        [LABELS.managedBy]: "mlops-operator",
        [LABELS.ownerId]: OWNER,
        [LABELS.stack]: "MlopsStack/default/platform",
        [LABELS.component]: component,
        [LABELS.specHash]: c.specHash,
      });
      expect(c.health.test.at(-1)).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/`));
      expect(c.mounts.find((m) => m.type === "volume")?.source).toBe(
        stackVolumeName("default", "platform", component),
      );
    },
  );

  it("gives the network the subnet, its gateway and ownership labels", () => {
    expect(desired.network).toMatchObject({
      name: "mlops-network",
      subnet: "172.20.0.0/16",
      gateway: "172.20.0.1",
    });
    expect(desired.network.labels[LABELS.ownerId]).toBe(OWNER);
  });

  it("runs only Nomad as root, privileged, with the Docker socket, host cgroups and its data dir at the host path", () => {
    const privileged = desired.containers.filter((c) => c.privileged || c.user.startsWith("0:"));
    expect(privileged.map((c) => c.component)).toEqual(["nomad"]);
    const nomad = containerOf(desired, "nomad");
    expect(nomad.cgroupns).toBe("host");
    const data = "/var/lib/docker/volumes/mlops.default.platform.nomad-data/_data";
    expect(nomad.mounts).toContainEqual({
      type: "volume",
      source: "mlops.default.platform.nomad-data",
      target: data,
    });
    expect(nomad.mounts).toContainEqual({
      type: "bind",
      source: "/var/run/docker.sock",
      target: "/var/run/docker.sock",
    });
    expect(nomad.files[0]?.content).toContain(`data_dir = "${data}"`);
  });

  it("keeps the Grafana password out of the environment and the spec hash", () => {
    const grafana = containerOf(desired, "grafana");
    expect(grafana.env.join("\n")).not.toContain("s3cret");
    const other = renderStack(stackOf(), { ...renderOptions, grafanaAdminPassword: "other" });
    expect(containerOf(other, "grafana").specHash).toBe(grafana.specHash);
    expect(grafana.files.find((f) => f.secret)).toMatchObject({ mode: 0o400, content: "s3cret" });
  });

  it("provisions the stack's Prometheus as Grafana's datasource and the shipped dashboards", () => {
    const files = containerOf(desired, "grafana").files;
    const ds = parse(files.find((f) => f.path.endsWith("datasources/mlops.yaml"))?.content ?? "");
    expect(ds.datasources[0]).toMatchObject({ type: "prometheus", url: "http://172.20.0.30:9090" });
    expect(files.map((f) => f.path)).toContain("/etc/grafana/dashboards/mlops/operator-dashboard.json");
  });
});

describe("renderStack: spec changes", () => {
  const base = renderStack(stackOf(), renderOptions);
  const hashes = (spec: Record<string, unknown>) =>
    Object.fromEntries(
      renderStack(stackOf(spec), renderOptions).containers.map((c) => [c.component, c.specHash]),
    );
  const before = Object.fromEntries(base.containers.map((c) => [c.component, c.specHash]));

  it.each([
    ["grafana image", { grafana: { image: "grafana/grafana:12.0.0" } }, ["grafana"]],
    ["prometheus scrape interval", { prometheus: { scrapeInterval: "30s" } }, ["prometheus"]],
    ["consul port", { consul: { port: 8501 } }, ["consul", "nomad", "prometheus"]],
    ["nomad hostPort", { nomad: { hostPort: 0 } }, ["nomad"]],
    ["service discovery", { prometheus: { serviceDiscovery: "http" } }, ["prometheus"]],
  ])("%s changes the hash of %j only", (_what, spec, changed) => {
    const after = hashes(spec);
    const differ = Object.keys(before).filter((c) => before[c] !== after[c]);
    expect(differ.sort()).toEqual([...changed].sort());
  });

  it("does not publish a port with hostPort 0 and drops disabled components", () => {
    const d = renderStack(stackOf({ grafana: { enabled: false }, nomad: { hostPort: 0 } }), renderOptions);
    expect(d.containers.map((c) => c.component)).toEqual(["consul", "nomad", "prometheus"]);
    expect(d.disabled).toEqual(["grafana"]);
    expect(containerOf(d, "nomad").hostPort).toBe(0);
  });
});

describe("dynamicRange: where Docker may put training containers", () => {
  it.each([
    ["172.20.0.0/16", ["172.20.0.10", "172.20.0.40"], "172.20.128.0/17"],
    ["10.1.2.0/24", ["10.1.2.10"], "10.1.2.128/25"],
    ["10.1.2.0/24", ["10.1.2.10", "10.1.2.200"], undefined],
    ["10.1.2.0/29", ["10.1.2.2"], undefined],
  ])("%s with fixed %j → %s", (subnet, fixed, expected) => {
    expect(dynamicRange(subnet, fixed)).toBe(expected);
  });
});
