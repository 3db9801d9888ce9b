// Agent configuration: Consul's JSON, Nomad's HCL, Grafana's provisioning, the password file.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { toHcl } from "../../src/stack/config/hcl.ts";
import { renderStack } from "../../src/stack/render.ts";
import {
  grafanaAdminPassword,
  grafanaCredential,
  grafanaPasswordPath,
  StackSecretError,
} from "../../src/stack/secrets.ts";
import { containerOf, renderOptions, stackOf } from "./fixtures.ts";

const desired = renderStack(stackOf(), renderOptions);
const file = (component: "consul" | "nomad" | "grafana", suffix: string) =>
  containerOf(desired, component).files.find((f) => f.path.endsWith(suffix))?.content ?? "";

describe("agent configuration", () => {
  it("Consul: one bootstrapping server, API on all interfaces, UI, advertised at its fixed IP", () => {
    expect(JSON.parse(file("consul", "mlops.json"))).toMatchObject({
      server: true,
      bootstrap_expect: 1,
      client_addr: "0.0.0.0",
      bind_addr: "172.20.0.10",
      advertise_addr: "172.20.0.10",
      ports: { http: 8500 },
      ui_config: { enabled: true },
      data_dir: "/consul/data",
    });
  });

  it.each([
    ["server and client", /server \{\n {2}enabled = true\n {2}bootstrap_expect = 1\n\}/],
    ["client", /client \{\n {2}enabled = true/],
    [
      "docker plugin: volumes on, privileged off",
      /plugin "docker" \{\n {2}config \{\n {4}allow_privileged = false\n {4}volumes \{\n {6}enabled = true/,
    ],
    ["the stack's Consul", /consul \{\n {2}address = "172\.20\.0\.10:8500"\n\}/],
    ["its HTTP port", /ports \{\n {2}http = 4646\n\}/],
    ["advertised at its IP", /advertise \{\n {2}http = "172\.20\.0\.20"/],
  ])("Nomad HCL has %s", (_what, pattern) => {
    expect(file("nomad", "mlops.hcl")).toMatch(pattern);
  });

  it("Nomad without Consul has no consul block", () => {
    const d = renderStack(stackOf({ consul: { enabled: false } }), renderOptions);
    expect(containerOf(d, "nomad").files[0]?.content).not.toContain("consul {");
  });

  it("HCL writer: literals, lists, nested and labelled blocks, undefined skipped", () => {
    expect(toHcl({ a: 'x"y', b: 1, c: false, d: ["p", "q"], 'e "f"': { g: { h: 2 } }, i: undefined })).toBe(
      'a = "x\\"y"\nb = 1\nc = false\nd = ["p", "q"]\ne "f" {\n  g {\n    h = 2\n  }\n}\n',
    );
  });

  it("Grafana: datasource and a file provider for the shipped dashboards", () => {
    expect(parse(file("grafana", "dashboards/mlops.yaml")).providers[0]).toMatchObject({
      type: "file",
      options: { path: "/etc/grafana/dashboards/mlops" },
    });
  });
});

describe("grafanaAdminPassword", () => {
  it("is generated once, kept with mode 0600, and read back unchanged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mlops-secret-"));
    const first = await grafanaAdminPassword(dir, "default", "platform");
    expect(first).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await grafanaAdminPassword(dir, "default", "platform")).toBe(first);
    expect(await grafanaAdminPassword(dir, "default", "other")).not.toBe(first);
    expect(statSync(grafanaPasswordPath(dir, "default", "platform")).mode & 0o777).toBe(0o600);
  });

  it.each([
    ["empty", ""],
    ["whitespace only", " \n"],
  ])(
    'an %s file (an interrupted write) is SecretEmpty naming it, never the password ""',
    async (_name, content) => {
      const dir = mkdtempSync(join(tmpdir(), "mlops-secret-"));
      const path = grafanaPasswordPath(dir, "default", "platform");
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      for (const read of [
        () => grafanaAdminPassword(dir, "default", "platform"),
        () => grafanaCredential(dir, "default", "platform")(),
      ]) {
        const error = await read().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StackSecretError);
        expect((error as StackSecretError).reason).toBe("SecretEmpty");
        expect((error as Error).message).toContain(path);
      }
      expect(readFileSync(path, "utf8")).toBe(content); // left for the user to decide
    },
  );

  it("concurrent first uses agree on one password and leave no temporary file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mlops-secret-"));
    const all = await Promise.all(
      Array.from({ length: 8 }, () => grafanaAdminPassword(dir, "default", "platform")),
    );
    expect(new Set(all).size).toBe(1);
    expect(readdirSync(dirname(grafanaPasswordPath(dir, "default", "platform")))).toEqual([
      "grafana-admin-password",
    ]);
  });
});
