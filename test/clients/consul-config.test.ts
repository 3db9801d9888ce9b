import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { consulBaseUrl, consulConfig } from "../../src/clients/consul/config.ts";
import { consulFromEnv } from "../../src/clients/consul/configured.ts";

describe("CONSUL_HTTP_ADDR as Consul's CLI reads it", () => {
  it.each([
    ["127.0.0.1:8500", false, "http://127.0.0.1:8500"],
    ["127.0.0.1:8500", true, "https://127.0.0.1:8500"],
    ["consul.service:8501/", true, "https://consul.service:8501"],
    ["http://10.0.0.1:8500", true, "http://10.0.0.1:8500"], // an explicit scheme wins over CONSUL_HTTP_SSL
    ["https://10.0.0.1:8501", false, "https://10.0.0.1:8501"],
    ["HTTPS://c:8501", false, "HTTPS://c:8501"],
  ])("%s (ssl %s) → %s", (address, ssl, expected) => {
    expect(consulBaseUrl(address, ssl)).toBe(expected);
  });

  it("rejects unix sockets and unknown schemes with a terminal InvalidConfig", () => {
    expect(() => consulBaseUrl("unix:///var/run/consul.sock")).toThrow(/unsupported scheme unix/);
    expect(() => consulBaseUrl("ftp://x")).toThrow(
      expect.objectContaining({ reason: "InvalidConfig", terminal: true }),
    );
  });
});

describe("consulConfig", () => {
  it("defaults to http://127.0.0.1:8500 without token or TLS", () => {
    expect(consulConfig({}, {})).toEqual({
      baseUrl: "http://127.0.0.1:8500",
      token: undefined,
      tls: undefined,
    });
  });

  it("reads the token, TLS files, server name and verify switch from env", () => {
    const config = consulConfig(
      {},
      {
        CONSUL_HTTP_ADDR: "consul:8501",
        CONSUL_HTTP_SSL: "true",
        CONSUL_HTTP_TOKEN: "tok",
        CONSUL_CACERT: "/ca.pem",
        CONSUL_CLIENT_CERT: "/c.pem",
        CONSUL_CLIENT_KEY: "/k.pem",
        CONSUL_TLS_SERVER_NAME: "server.dc1.consul",
        CONSUL_HTTP_SSL_VERIFY: "false",
      },
    );
    expect(config).toEqual({
      baseUrl: "https://consul:8501",
      token: "tok",
      tls: {
        caFile: "/ca.pem",
        certFile: "/c.pem",
        keyFile: "/k.pem",
        serverName: "server.dc1.consul",
        insecureSkipVerify: true,
      },
    });
  });

  it("verifies TLS unless CONSUL_HTTP_SSL_VERIFY says otherwise, and options override env", () => {
    const config = consulConfig(
      { address: "http://other:8500", token: "from-flag" },
      { CONSUL_HTTP_ADDR: "consul:8500", CONSUL_HTTP_TOKEN: "from-env", CONSUL_HTTP_SSL_VERIFY: "1" },
    );
    expect(config).toEqual({ baseUrl: "http://other:8500", token: "from-flag", tls: undefined });
  });

  it("reads CONSUL_HTTP_TOKEN_FILE when no token is given", () => {
    const dir = mkdtempSync(join(tmpdir(), "consul-token-"));
    writeFileSync(join(dir, "token"), "file-token\n");
    expect(consulConfig({}, { CONSUL_HTTP_TOKEN_FILE: join(dir, "token") }).token).toBe("file-token");
  });

  it("rejects a non-boolean CONSUL_HTTP_SSL naming the variable", () => {
    expect(() => consulConfig({}, { CONSUL_HTTP_SSL: "yes" })).toThrow(
      /CONSUL_HTTP_SSL: "yes" is not a boolean/,
    );
  });
});

describe("consulFromEnv", () => {
  it("is undefined without CONSUL_HTTP_ADDR, and a running MetricsHealth with it", async () => {
    expect(consulFromEnv({}, {})).toBeUndefined();
    const configured = consulFromEnv({ retries: 0 }, { CONSUL_HTTP_ADDR: "127.0.0.1:1" });
    expect(configured?.client.baseUrl).toBe("http://127.0.0.1:1");
    await configured?.close();
  });
});
