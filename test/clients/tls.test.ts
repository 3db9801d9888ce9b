// TLS to Nomad, Consul and Grafana: each double behind a TLS terminator with a CA made in the test.
// A good chain works (ordinary requests, blocking queries, the Nomad event stream, client
// certificates); an unknown CA, a wrong server name and an expired certificate each fail once (no
// retry loop) with one message naming the address and the variable to set.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageOf, reasonOf } from "../../src/api/errors.ts";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { GrafanaClient } from "../../src/clients/grafana/client.ts";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { openStream } from "../../src/clients/nomad/stream.ts";
import { tlsFailure } from "../../src/clients/tls.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/index.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { makePki, type TestPki, type TlsTerminator, terminateTls } from "../doubles/tls.ts";

let pki: TestPki;
let nomad: NomadDouble;
let consul: ConsulDouble;
let grafana: GrafanaDouble;
const terminators: TlsTerminator[] = [];

beforeAll(async () => {
  pki = makePki();
  nomad = await startNomadDouble({ heartbeatMs: 200 });
  consul = await startConsulDouble();
  grafana = await startGrafanaDouble();
});
afterAll(async () => {
  for (const t of terminators) await t.close();
  await nomad?.close();
  await consul?.close();
  await grafana?.close();
  pki?.close();
});

const portOf = (url: string) => Number(new URL(url).port);

async function front(
  url: string,
  cert: { cert: string; key: string },
  options: { requireClientCertFrom?: string } = {},
): Promise<TlsTerminator> {
  const t = await terminateTls(portOf(url), cert, options);
  terminators.push(t);
  return t;
}

type Call = (url: string, env: NodeJS.ProcessEnv) => Promise<unknown>;

interface System {
  name: string;
  upstream: () => string;
  call: Call;
  vars: { ca: string; serverName: string; cert: string };
}

const systems: System[] = [
  {
    name: "Nomad",
    upstream: () => nomad.address,
    vars: { ca: "NOMAD_CACERT", serverName: "NOMAD_TLS_SERVER_NAME", cert: "NOMAD_CLIENT_CERT" },
    call: async (url, env) => {
      const client = new NomadClient({ address: url, retries: 2 }, env);
      try {
        return await client.serverVersion();
      } finally {
        await client.close();
      }
    },
  },
  {
    name: "Consul",
    upstream: () => consul.url,
    vars: { ca: "CONSUL_CACERT", serverName: "CONSUL_TLS_SERVER_NAME", cert: "CONSUL_CLIENT_CERT" },
    call: async (url, env) => {
      const client = new ConsulClient({ address: url, retries: 2, env });
      try {
        return await client.leader();
      } finally {
        await client.close();
      }
    },
  },
  {
    name: "Grafana",
    upstream: () => grafana.url,
    vars: { ca: "GRAFANA_CA_FILE", serverName: "GRAFANA_TLS_SERVER_NAME", cert: "GRAFANA_CLIENT_CERT" },
    call: async (url, env) => {
      const client = new GrafanaClient({ url, retries: 2, env });
      try {
        return await client.health();
      } finally {
        await client.close();
      }
    },
  },
];

async function failure(call: Promise<unknown>): Promise<{ reason: string; message: string }> {
  try {
    await call;
  } catch (error) {
    return { reason: reasonOf(error), message: messageOf(error) };
  }
  throw new Error("expected the call to fail");
}

describe.each(systems)("TLS to $name", (system) => {
  it("a good chain works", async () => {
    const t = await front(system.upstream(), pki.server);
    expect(await system.call(t.url, { [system.vars.ca]: pki.caFile })).toBeTruthy();
  });

  it("an unknown CA fails once, naming the address and the CA variable", async () => {
    const t = await front(system.upstream(), pki.server);
    const got = await failure(system.call(t.url, { [system.vars.ca]: pki.otherCaFile }));
    expect(got.reason).toBe(`${system.name}Unavailable`);
    expect(got.message).toMatch(
      new RegExp(
        `^${system.name} at ${t.url}: TLS: the server's certificate is not signed by a trusted CA \\(\\w+\\); set ${system.vars.ca} to the PEM file of the CA that issued it$`,
      ),
    );
    expect(t.connections).toBe(1); // not retried: a certificate does not fix itself
  });

  it("a wrong server name names the server-name variable", async () => {
    const t = await front(system.upstream(), pki.server);
    const env = { [system.vars.ca]: pki.caFile, [system.vars.serverName]: "elsewhere.test" };
    const got = await failure(system.call(t.url, env));
    expect(got.message).toMatch(
      new RegExp(
        `^${system.name} at ${t.url}: TLS: the server's certificate is not issued for the name connected to \\(.*\\); set ${system.vars.serverName} to a name it is issued for$`,
      ),
    );
    expect(t.connections).toBe(1);
  });

  it("the right server name for an address the certificate does not name works", async () => {
    const t = await front(system.upstream(), pki.server);
    const url = t.url.replace("127.0.0.1", "localhost");
    const env = { [system.vars.ca]: pki.caFile, [system.vars.serverName]: "double.test" };
    expect(await system.call(url, env)).toBeTruthy();
  });

  it("an expired certificate says so", async () => {
    const t = await front(system.upstream(), pki.expired);
    const got = await failure(system.call(t.url, { [system.vars.ca]: pki.caFile }));
    expect(got.message).toMatch(
      new RegExp(
        `^${system.name} at ${t.url}: TLS: the server's certificate has expired \\(CERT_HAS_EXPIRED\\); renew it on the server`,
      ),
    );
    expect(t.connections).toBe(1);
  });

  it("a server that requires a client certificate: refused without one, works with the variables set", async () => {
    const t = await front(system.upstream(), pki.server, { requireClientCertFrom: pki.caFile });
    const got = await failure(system.call(t.url, { [system.vars.ca]: pki.caFile }));
    expect(got.reason).toBe(`${system.name}Unavailable`);
    const prefix = system.vars.cert.replace(/_CERT$/, "");
    const env = {
      [system.vars.ca]: pki.caFile,
      [system.vars.cert]: pki.client.certFile,
      [`${prefix}_KEY`]: pki.client.keyFile,
    };
    expect(await system.call(t.url, env)).toBeTruthy();
  });
});

describe("long-lived requests cross TLS with the same settings", () => {
  it("Nomad: a blocking query and the event stream", async () => {
    const t = await front(nomad.address, pki.server);
    const client = new NomadClient({ address: t.url }, { NOMAD_CACERT: pki.caFile });
    try {
      const { meta } = await client.query("/v1/jobs", "/v1/jobs", { index: 1, waitMs: 200 });
      expect(meta.index).toBeGreaterThan(0);
      const { config, dispatcher } = client.streamConfig();
      const controller = new AbortController();
      const stream = await openStream(
        config,
        dispatcher,
        "/v1/event/stream",
        new URLSearchParams({ index: "1" }),
        "/v1/event/stream",
        controller.signal,
      );
      const first = await new Promise<string>((resolve) =>
        stream.body.once("data", (c) => resolve(String(c))),
      );
      controller.abort();
      stream.body.on("error", () => {});
      expect(first).toMatch(/^\{/);
    } finally {
      await client.close();
    }
  });

  it("Nomad: the event stream over an unknown CA names NOMAD_CACERT", async () => {
    const t = await front(nomad.address, pki.server);
    const client = new NomadClient({ address: t.url }, {});
    try {
      const { config, dispatcher } = client.streamConfig();
      const got = await failure(
        openStream(
          config,
          dispatcher,
          "/v1/event/stream",
          new URLSearchParams(),
          "/v1/event/stream",
          new AbortController().signal,
        ),
      );
      expect(got).toMatchObject({
        reason: "NomadUnavailable",
        message: expect.stringContaining("set NOMAD_CACERT"),
      });
    } finally {
      await client.close();
    }
  });

  it("Consul: a blocking query", async () => {
    const t = await front(consul.url, pki.server);
    const client = new ConsulClient({ address: t.url, env: { CONSUL_CACERT: pki.caFile } });
    try {
      const answer = await client.checksInState("any", { index: 1, waitMs: 200 });
      expect(answer).toBeTruthy();
    } finally {
      await client.close();
    }
  });
});

describe("tlsFailure: one message per certificate problem", () => {
  const err = (code: string, message = "x") => Object.assign(new Error(message), { code });
  const table: [string, unknown, RegExp | undefined][] = [
    ["not a TLS error", err("ECONNREFUSED"), undefined],
    [
      "unknown CA, wrapped in a cause",
      new Error("fetch failed", { cause: err("SELF_SIGNED_CERT_IN_CHAIN") }),
      /set CONSUL_CACERT/,
    ],
    [
      "wrong name",
      err("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match"),
      /\(Hostname\/IP does not match\); set CONSUL_TLS_SERVER_NAME/,
    ],
    [
      "not yet valid",
      err("CERT_NOT_YET_VALID"),
      /is not valid yet .*CONSUL_HTTP_SSL_VERIFY=false skips verification/,
    ],
    [
      "client certificate refused (TLS 1.2 alert)",
      err("ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE"),
      /set CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY/,
    ],
    ["plain HTTP on the port", err("ERR_SSL_WRONG_VERSION_NUMBER"), /does not speak TLS at this address/],
  ];
  it.each(table)("%s", (_what, error, expected) => {
    const got = tlsFailure(error, "consul", "https://c:8501");
    if (expected === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(expected);
    if (got) expect(got.startsWith("Consul at https://c:8501: TLS: ")).toBe(true);
  });
});
