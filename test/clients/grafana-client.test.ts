// GrafanaClient against the Grafana double: annotations, health without credentials, typed errors,
// and credentials that never appear in errors.
import { afterEach, describe, expect, it } from "vitest";
import { GrafanaClient } from "../../src/clients/grafana/client.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/server.ts";

const TOKEN = "glsa_secret-service-account-token";

let double: GrafanaDouble;
let client: GrafanaClient;

async function setup(clientOptions: { token?: string; user?: string; password?: string } = { token: TOKEN }) {
  double = await startGrafanaDouble({ token: TOKEN, basic: { user: "admin", password: "pw-secret" } });
  client = new GrafanaClient({ url: double.url, env: {}, retries: 1, timeoutMs: 1_000, ...clientOptions });
}

afterEach(async () => {
  await client?.close();
  await double?.close();
});

async function rejection(promise: Promise<unknown>): Promise<Error & { reason?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { reason?: string };
  }
  throw new Error("expected a rejection");
}

describe("GrafanaClient", () => {
  it("creates, finds by all tags (newest first) and patches annotations", async () => {
    await setup();
    const first = await client.createAnnotation({
      time: 1_000,
      tags: ["mlops-operator", "default/a", "run:1"],
      text: "a",
    });
    const second = await client.createAnnotation({
      time: 2_000,
      tags: ["mlops-operator", "default/a", "run:2"],
      text: "b",
    });
    await client.createAnnotation({ time: 3_000, tags: ["mlops-operator", "default/b"], text: "c" });
    expect(second).toBe(first + 1);
    const found = await client.findAnnotations({ tags: ["mlops-operator", "default/a"] });
    expect(found.map((a) => a.id)).toEqual([second, first]);
    await client.patchAnnotation(first, {
      timeEnd: 1_500,
      tags: ["mlops-operator", "default/a", "run:1", "succeeded"],
    });
    const [patched] = await client.findAnnotations({ tags: ["run:1", "succeeded"] });
    expect(patched).toMatchObject({ id: first, time: 1_000, timeEnd: 1_500, text: "a" });
    expect(double.requests.get("GET /api/annotations")).toBe(2);
  });

  it("accepts basic auth", async () => {
    await setup({ user: "admin", password: "pw-secret" });
    expect(await client.createAnnotation({ time: 1, tags: [], text: "x" })).toBe(1);
  });

  it("checks health without sending credentials", async () => {
    await setup({ token: "not-even-valid" });
    expect(await client.health()).toMatchObject({ database: "ok" });
    await double.setOutage("database");
    expect((await rejection(client.health())).reason).toBe("GrafanaUnavailable");
  });

  it("types errors: unknown id, bad request, refused connection, no blind retry of a create", async () => {
    await setup();
    const missing = await rejection(client.patchAnnotation(999, { timeEnd: 5 }));
    expect(missing.reason).toBe("NotFound");
    expect(missing.message).toContain("Could not find annotation to update");
    const bad = await rejection(client.createAnnotation({ time: 1, tags: [], text: "" }));
    expect(bad.reason).toBe("GrafanaRejected");
    double.failNext(1, 503, "service unavailable");
    const busy = await rejection(client.createAnnotation({ time: 1, tags: [], text: "x" }));
    expect(busy.reason).toBe("GrafanaUnavailable");
    expect(double.requests.get("POST /api/annotations")).toBe(2); // the 503 was not retried
    await double.setOutage("refuse");
    const down = await rejection(client.findAnnotations({ tags: ["x"] }));
    expect(down.reason).toBe("GrafanaUnavailable");
    expect(down.message).toMatch(/Grafana at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
  });

  it("rejects a wrong token as Forbidden without the token in the error", async () => {
    await setup({ token: `${TOKEN}-wrong` });
    const error = await rejection(client.findAnnotations({ tags: ["x"] }));
    expect(error.reason).toBe("Forbidden");
    expect(error.message).toContain("Invalid API key");
    expect(`${error.message} ${String(error.stack)} ${JSON.stringify(error)}`).not.toContain(TOKEN);
  });

  it("rejects a wrong password as Forbidden without the password in the error", async () => {
    await setup({ user: "admin", password: "pw-secret-wrong" });
    const error = await rejection(client.createAnnotation({ time: 1, tags: [], text: "x" }));
    expect(error.reason).toBe("Forbidden");
    const everything = `${error.message} ${String(error.stack)} ${JSON.stringify(error)}`;
    expect(everything).not.toContain("pw-secret");
    expect(everything).not.toContain(Buffer.from("admin:pw-secret-wrong").toString("base64"));
  });
});
