// Readiness probes (src/observability/readiness.ts): a critical dependency that refuses, fails or
// hangs past the deadline is named with its reason; a non-critical one is degraded; a dependency
// not needed is never reported; a state change is logged once, not once per probe.
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { OperatorError } from "../../src/api/errors.ts";
import { registry } from "../../src/observability/metrics.ts";
import { Readiness } from "../../src/observability/readiness.ts";

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

describe("Readiness", () => {
  it("names what is down, degraded or hanging; logs each change once; recovers", async () => {
    const { log, lines } = capture();
    let nomad: "up" | "refused" | "hang" = "up";
    let grafanaUp = true;
    let dockerNeeded = false;
    const readiness = new Readiness({ log, timeoutMs: 100 })
      .add({
        name: "nomad http://n",
        critical: true,
        probe: async (signal) => {
          if (nomad === "refused")
            throw new OperatorError(
              "NomadUnavailable",
              "Nomad at http://n is unreachable: ECONNREFUSED\n  at stack",
            );
          if (nomad === "hang") await new Promise((resolve) => signal.addEventListener("abort", resolve));
        },
      })
      .add({
        name: "docker unix:///d",
        critical: true,
        needed: () => dockerNeeded,
        probe: async () => {
          throw new OperatorError("DockerUnavailable", "gone");
        },
      })
      .add({
        name: "grafana http://g",
        critical: false,
        probe: async () => {
          if (!grafanaUp) throw new OperatorError("GrafanaUnavailable", "503");
        },
      });
    await readiness.probeAll();
    expect(readiness.reasons()).toEqual([]);
    expect(readiness.degraded()).toEqual([]);

    nomad = "refused";
    grafanaUp = false;
    for (let i = 0; i < 5; i++) await readiness.probeAll();
    expect(readiness.reasons()).toEqual([
      "nomad http://n: NomadUnavailable: Nomad at http://n is unreachable: ECONNREFUSED",
    ]);
    expect(readiness.degraded()).toEqual(["grafana http://g: GrafanaUnavailable: 503"]);
    expect(lines.filter((l) => l.msg === "nomad http://n is down")).toHaveLength(1);
    expect(await registry.getSingleMetricAsString("mlops_dependency_up")).toContain(
      'mlops_dependency_up{dependency="nomad http://n"} 0',
    );

    nomad = "hang";
    const started = Date.now();
    await readiness.probeAll();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(readiness.reasons()).toEqual(["nomad http://n: Unavailable: no answer within 100 ms"]);

    dockerNeeded = true;
    await readiness.probeAll();
    expect(readiness.reasons()).toContain("docker unix:///d: DockerUnavailable: gone");

    nomad = "up";
    grafanaUp = true;
    dockerNeeded = false;
    await readiness.probeAll();
    expect(readiness.reasons()).toEqual([]);
    expect(readiness.degraded()).toEqual([]);
    expect(lines.filter((l) => l.msg === "nomad http://n answers again")).toHaveLength(1);
    expect(lines.length).toBeLessThanOrEqual(7);
  });
  it("tells its listeners of each recovery, once: not while up, not while down", async () => {
    const { log } = capture();
    let up = true;
    const readiness = new Readiness({ log }).add({
      name: "nomad http://n",
      critical: true,
      probe: async () => {
        if (!up) throw new OperatorError("NomadUnavailable", "refused");
      },
    });
    const heard: string[] = [];
    readiness.onRecovered((name) => heard.push(name));
    await readiness.probeAll();
    up = false;
    await readiness.probeAll();
    await readiness.probeAll();
    expect(heard).toEqual([]);
    up = true;
    await readiness.probeAll();
    await readiness.probeAll();
    expect(heard).toEqual(["nomad http://n"]);
    up = false;
    await readiness.probeAll();
    up = true;
    await readiness.probeAll();
    expect(heard).toEqual(["nomad http://n", "nomad http://n"]);
  });
});
