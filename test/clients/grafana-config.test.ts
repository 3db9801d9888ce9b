import { describe, expect, it } from "vitest";
import { grafanaConfig } from "../../src/clients/grafana/config.ts";
import { grafanaFromEnv } from "../../src/clients/grafana/configured.ts";

describe("grafanaConfig", () => {
  it("defaults to http://127.0.0.1:3000 without credentials", () => {
    expect(grafanaConfig({}, {})).toEqual({
      baseUrl: "http://127.0.0.1:3000",
      authorization: undefined,
      tls: undefined,
    });
  });

  it.each([
    [{ GRAFANA_URL: "http://grafana:3000/" }, "http://grafana:3000"],
    [{ GRAFANA_URL: "https://ops.example.com/grafana/" }, "https://ops.example.com/grafana"],
    [{ GRAFANA_URL: "172.20.0.40:3000" }, "http://172.20.0.40:3000"],
  ])("%j → %s", (env, baseUrl) => {
    expect(grafanaConfig({}, env).baseUrl).toBe(baseUrl);
  });

  it("prefers a service account token (Bearer) over basic auth", () => {
    const env = { GRAFANA_TOKEN: "glsa_abc", GRAFANA_USER: "admin", GRAFANA_PASSWORD: "pw" };
    expect(grafanaConfig({}, env).authorization).toBe("Bearer glsa_abc");
  });

  it("uses basic auth from GRAFANA_USER/GRAFANA_PASSWORD", () => {
    const auth = grafanaConfig({}, { GRAFANA_USER: "admin", GRAFANA_PASSWORD: "s3cret" }).authorization;
    expect(auth).toBe(`Basic ${Buffer.from("admin:s3cret").toString("base64")}`);
  });

  it.each([
    ["ftp://grafana", /use http:\/\/ or https:\/\//],
    ["http://admin:pw@grafana:3000", /must not carry credentials/],
  ])("rejects %s", (url, message) => {
    expect(() => grafanaConfig({}, { GRAFANA_URL: url })).toThrow(message);
  });
});

describe("grafanaFromEnv", () => {
  it("is undefined without GRAFANA_URL, and a client with it", async () => {
    expect(grafanaFromEnv({}, {})).toBeUndefined();
    const configured = grafanaFromEnv({}, { GRAFANA_URL: "http://127.0.0.1:1", GRAFANA_TOKEN: "t" });
    expect(configured?.client.baseUrl).toBe("http://127.0.0.1:1");
    await configured?.close();
  });
});
