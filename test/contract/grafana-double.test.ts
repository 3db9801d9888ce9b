// The Grafana double's own behaviours that other suites rely on: authentication, Grafana's find
// semantics (all or any tags as tag pairs, newest first, items without omitempty), outage scripting and write counters.
import { afterEach, describe, expect, it } from "vitest";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/server.ts";

let double: GrafanaDouble;

afterEach(async () => {
  await double?.close();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("Grafana double", () => {
  it.each([
    [{}, 401, "Unauthorized"],
    [{ authorization: "Bearer nope" }, 401, "Invalid API key"],
    [{ authorization: basic("admin", "nope") }, 401, "Invalid username or password"],
    [{ authorization: "Bearer tok" }, 200, undefined],
    [{ authorization: basic("admin", "pw") }, 200, undefined],
  ])("authenticates %j → %i", async (headers, status, message) => {
    double = await startGrafanaDouble({ token: "tok", basic: { user: "admin", password: "pw" } });
    const res = await fetch(`${double.url}/api/annotations`, { headers });
    expect(res.status).toBe(status);
    if (message) expect(await res.json()).toEqual({ message });
    expect((await fetch(`${double.url}/api/health`)).status).toBe(200); // health needs no auth
  });

  it("finds by all tags or any tag, newest first, every item field present (no omitempty)", async () => {
    double = await startGrafanaDouble();
    const post = (body: unknown) =>
      fetch(`${double.url}/api/annotations`, { method: "POST", body: JSON.stringify(body) }).then((r) =>
        r.json(),
      );
    await post({ time: 1_000, tags: ["a", "b"], text: "old" });
    await post({ time: 3_000, tags: ["a"], text: "new" });
    await post({ time: 2_000, text: "untagged" });
    const find = async (query: string): Promise<Record<string, unknown>[]> =>
      (await (await fetch(`${double.url}/api/annotations?${query}`)).json()) as Record<string, unknown>[];
    expect((await find("tags=a&tags=b")).map((a) => a.text)).toEqual(["old"]);
    expect((await find("tags=a&tags=b&matchAny=true")).map((a) => a.text)).toEqual(["new", "old"]);
    expect((await find("limit=2")).map((a) => a.text)).toEqual(["new", "untagged"]);
    // Grafana 11.5.2 ItemDTO (pkg/services/annotations/models.go) has no omitempty: zero values are sent.
    const [untagged] = await find("from=1500&to=2500");
    expect(untagged).toMatchObject({ tags: [], dashboardUID: null, alertId: 0, panelId: 0, dashboardId: 0 });
    expect(untagged).toMatchObject({ id: 3, time: 2_000, timeEnd: 2_000, text: "untagged" });
    expect(double.writes).toBe(3);
  });

  it("searches by tag pairs: split on ':' keeping two parts, trimmed (pkg/services/tag ParseTagPairs)", async () => {
    double = await startGrafanaDouble();
    const post = (body: unknown) =>
      fetch(`${double.url}/api/annotations`, { method: "POST", body: JSON.stringify(body) });
    await post({ time: 1_000, tags: ["run:g1-abc:x"], text: "two colons" });
    await post({ time: 2_000, tags: ["run:g1-abc"], text: "one colon" });
    await post({ time: 3_000, tags: [" team / a "], text: "spaces" });
    const find = async (query: string) =>
      ((await (await fetch(`${double.url}/api/annotations?${query}`)).json()) as { text: string }[]).map(
        (a) => a.text,
      );
    // "run:g1-abc:y" is the pair (run, g1-abc): it finds both, whatever followed the second colon.
    expect(await find(`tags=${encodeURIComponent("run:g1-abc:y")}`)).toEqual(["one colon", "two colons"]);
    expect(await find(`tags=${encodeURIComponent("team / a")}`)).toEqual(["spaces"]);
  });

  it("scripts outages: database failing, refused, stalled, failures", async () => {
    double = await startGrafanaDouble();
    const url = double.url;
    await double.setOutage("database");
    const health = await fetch(`${url}/api/health`);
    expect([health.status, ((await health.json()) as { database: string }).database]).toEqual([
      503,
      "failing",
    ]);
    expect((await fetch(`${url}/api/annotations`)).status).toBe(500);
    await double.setOutage("refuse");
    await expect(fetch(`${url}/api/health`)).rejects.toThrow();
    await double.setOutage("stall");
    await expect(fetch(`${url}/api/health`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    await double.setOutage("none");
    double.failNext(1, 502, "Bad Gateway");
    expect((await fetch(`${url}/api/annotations`)).status).toBe(502);
    expect((await fetch(`${url}/api/annotations`)).status).toBe(200);
  });
});
