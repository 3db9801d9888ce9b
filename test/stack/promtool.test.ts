// Debian's promtool on the shipped alert rules and on what render() generates (prometheus.yml for
// serviceDiscovery: http, and the stack's rule file). Skipped only where promtool is absent.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderStack } from "../../src/stack/render.ts";
import { containerOf, renderOptions, stackOf } from "./fixtures.ts";

const promtool = (() => {
  try {
    execFileSync("promtool", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const dir = mkdtempSync(join(tmpdir(), "mlops-promtool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(args: string[]): string {
  return execFileSync("promtool", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe.skipIf(!promtool)("promtool", () => {
  const files = containerOf(
    renderStack(stackOf({ prometheus: { serviceDiscovery: "http" } }), renderOptions),
    "prometheus",
  ).files;

  it("accepts manifests/prometheus/alerts.yml", () => {
    expect(check(["check", "rules", "manifests/prometheus/alerts.yml"])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("accepts the generated stack rules", () => {
    const rules = files.find((f) => f.path.endsWith("mlops-stack.yml"));
    const path = join(dir, "mlops-stack.yml");
    writeFileSync(path, rules?.content ?? "");
    expect(check(["check", "rules", path])).toContain("SUCCESS: 2 rules found");
  });

  it("accepts the generated prometheus.yml for serviceDiscovery: http (rule files beside it)", () => {
    const config = files.find((f) => f.path === "/etc/prometheus/prometheus.yml")?.content ?? "";
    mkdirRules();
    const path = join(dir, "prometheus.yml");
    writeFileSync(path, config.replace("/etc/prometheus/rules/", `${dir}/rules/`));
    expect(check(["check", "config", path])).toContain("SUCCESS");
  });

  it("promtool test rules: test/stack/alerts.promtool.yml passes, with a firing case for every alert", () => {
    expect(check(["test", "rules", "test/stack/alerts.promtool.yml"])).toContain("SUCCESS");
    const alerts = alertsOf(readFileSync("manifests/prometheus/alerts.yml", "utf8"));
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    expect(alerts.filter((a) => !firingCases("test/stack/alerts.promtool.yml").has(a))).toEqual([]);
  });

  it("promtool test rules: the generated stack rules pass test/stack/stack-rules.promtool.yml, a firing case each", () => {
    const rules = files.find((f) => f.path.endsWith("mlops-stack.yml"))?.content ?? "";
    writeFileSync(join(dir, "mlops-stack.yml"), rules);
    const cases = join(dir, "stack-rules.promtool.yml");
    writeFileSync(cases, readFileSync("test/stack/stack-rules.promtool.yml", "utf8"));
    expect(check(["test", "rules", cases])).toContain("SUCCESS");
    const alerts = alertsOf(rules);
    expect(alerts.sort()).toEqual(["MlopsOperatorDown", "MlopsStackComponentDown"]);
    expect(alerts.filter((a) => !firingCases(cases).has(a))).toEqual([]);
  });

  it("promtool test rules fails when a rule changes under its cases (the cases can fail)", () => {
    const rules = join(dir, "alerts-changed.yml");
    writeFileSync(
      rules,
      readFileSync("manifests/prometheus/alerts.yml", "utf8").replace("for: 30m", "for: 60m"),
    );
    const cases = join(dir, "alerts-changed.promtool.yml");
    writeFileSync(
      cases,
      readFileSync("test/stack/alerts.promtool.yml", "utf8").replace(
        "../../manifests/prometheus/alerts.yml",
        rules,
      ),
    );
    expect(() => check(["test", "rules", cases])).toThrow(/MlopsTrainingRunPendingTooLong/);
  });

  it("rejects a broken rule (the check can fail)", () => {
    const path = join(dir, "broken.yml");
    writeFileSync(path, readFileSync("manifests/prometheus/alerts.yml", "utf8").replace("rate(", "rate(("));
    expect(() => check(["check", "rules", path])).toThrow();
  });

  function alertsOf(text: string): string[] {
    const rules = parse(text) as { groups: { rules: { alert?: string }[] }[] };
    return rules.groups.flatMap((g) => g.rules.map((r) => r.alert)).filter((a) => a !== undefined);
  }

  function firingCases(path: string): Set<string> {
    const cases = parse(readFileSync(path, "utf8")) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    return new Set(
      cases.tests.flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
      ),
    );
  }

  function mkdirRules(): void {
    execFileSync("mkdir", ["-p", join(dir, "rules")]);
    for (const f of files.filter((x) => x.path.startsWith("/etc/prometheus/rules/"))) {
      writeFileSync(join(dir, "rules", f.path.split("/").pop() ?? "x.yml"), f.content);
    }
  }
});
