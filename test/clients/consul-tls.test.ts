// Consul over TLS as its CLI configures it: CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_TLS_SERVER_NAME,
// CONSUL_CLIENT_CERT/KEY (verify_incoming) and CONSUL_HTTP_SSL_VERIFY, against the Consul double
// serving HTTPS with certificates made here by openssl.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";

let dir: string;
const file = (name: string): string => join(dir, name);
const pem = (name: string): string => readFileSync(file(name), "utf8");

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A CA, a server certificate for server.dc1.consul (not for 127.0.0.1), and a client certificate. */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "consul-tls-"));
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=Test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  );
  for (const [name, cn, ext] of [
    ["server", "server.dc1.consul", "subjectAltName=DNS:server.dc1.consul"],
    ["client", "client.dc1.consul", "extendedKeyUsage=clientAuth"],
  ] as const) {
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${cn}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    );
    writeFileSync(file(`${name}.ext`), `${ext}\n`);
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    );
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let double: ConsulDouble;
let client: ConsulClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await double?.close();
});

const address = (): string => double.url.replace("https://", "");

describe("ConsulClient over TLS", () => {
  it("verifies the server against CONSUL_CACERT and CONSUL_TLS_SERVER_NAME", async () => {
    double = await startConsulDouble({ tls: { cert: pem("server.pem"), key: pem("server.key") } });
    client = new ConsulClient({
      retries: 0,
      env: {
        CONSUL_HTTP_ADDR: address(),
        CONSUL_HTTP_SSL: "true",
        CONSUL_CACERT: file("ca.pem"),
        CONSUL_TLS_SERVER_NAME: "server.dc1.consul",
      },
    });
    expect(client.baseUrl).toMatch(/^https:\/\//);
    expect(await client.leader()).toBe("127.0.0.1:8300");
  });

  it("refuses a server it cannot verify, unless CONSUL_HTTP_SSL_VERIFY=false", async () => {
    double = await startConsulDouble({ tls: { cert: pem("server.pem"), key: pem("server.key") } });
    client = new ConsulClient({ retries: 0, env: { CONSUL_HTTP_ADDR: `https://${address()}` } });
    await expect(client.leader()).rejects.toMatchObject({ reason: "ConsulUnavailable" });
    await client.close();
    client = new ConsulClient({
      retries: 0,
      env: { CONSUL_HTTP_ADDR: `https://${address()}`, CONSUL_HTTP_SSL_VERIFY: "false" },
    });
    expect(await client.leader()).toBe("127.0.0.1:8300");
  });

  it("presents CONSUL_CLIENT_CERT/KEY when the server verifies incoming connections", async () => {
    double = await startConsulDouble({
      tls: { cert: pem("server.pem"), key: pem("server.key"), ca: pem("ca.pem") },
    });
    const env = {
      CONSUL_HTTP_ADDR: `https://${address()}`,
      CONSUL_CACERT: file("ca.pem"),
      CONSUL_TLS_SERVER_NAME: "server.dc1.consul",
    };
    client = new ConsulClient({ retries: 0, env });
    await expect(client.leader()).rejects.toMatchObject({ reason: "ConsulUnavailable" });
    await client.close();
    client = new ConsulClient({
      retries: 0,
      env: { ...env, CONSUL_CLIENT_CERT: file("client.pem"), CONSUL_CLIENT_KEY: file("client.key") },
    });
    expect(await client.leader()).toBe("127.0.0.1:8300");
  });
});
