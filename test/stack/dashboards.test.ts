// The shipped Grafana dashboards and alert rules: every PromQL expression parses (promtool check
// rules, each wrapped as a recording rule) and names only metrics that exist: the operator's registry
// (src/observability/metrics.ts), the example trainer's (images/trainer/train.sh) and Prometheus's
// own `up`. And the MlopsStack's Grafana is provisioned with every dashboard in manifests/grafana/.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { registry } from "../../src/observability/metrics.ts";
import { loadStackAssets } from "../../src/stack/assets.ts";
import { renderStack } from "../../src/stack/render.ts";
import { containerOf, renderOptions, stackOf } from "./fixtures.ts";

interface Panel {
  title: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; definition?: string }[] };
}

const assets = await loadStackAssets();
const dashboards = Object.entries(assets.dashboards).map(
  ([file, text]) => [file, JSON.parse(text)] as const,
) as [string, Dashboard][];

/** [where, PromQL] of every panel target and query variable (label_values(selector, label) → selector). */
function expressions(): [string, string][] {
  const out: [string, string][] = [];
  for (const [file, d] of dashboards) {
    const walk = (panels: Panel[]) => {
      for (const p of panels) {
        for (const t of p.targets ?? []) if (t.expr) out.push([`${file} "${p.title}"`, t.expr]);
        walk(p.panels ?? []);
      }
    };
    walk(d.panels);
    for (const v of d.templating?.list ?? []) {
      const inner = /^label_values\((.*),\s*[a-zA-Z_]\w*\)$/.exec(v.definition ?? "");
      if (v.definition) out.push([`${file} variable ${v.name}`, inner ? (inner[1] as string) : v.definition]);
    }
  }
  const rules = parse(assets.alertRules ?? "") as { groups: { rules: { alert?: string; expr: string }[] }[] };
  for (const g of rules.groups) for (const r of g.rules) out.push([`alerts.yml ${r.alert}`, r.expr]);
  return out;
}

/** Grafana's variables replaced by what they expand to, so Prometheus's parser accepts the text. */
function concrete(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, "5m").replace(/\$\{?\w+\}?/g, ".*");
}

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);

/** Metric names an expression selects: identifiers outside strings, label matchers, groupings and ranges that are not calls. */
function metricNames(expr: string): string[] {
  const text = concrete(expr)
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\()?)/g)) {
    const name = m[0];
    if (m[1] || KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\d/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

async function exported(): Promise<Set<string>> {
  const names = new Set(["up"]); // Prometheus writes it for every target it scrapes
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
  }
  const trainer = readFileSync("images/trainer/train.sh", "utf8");
  for (const m of trainer.matchAll(/# TYPE (\w+) /g)) names.add(m[1] as string);
  return names;
}

const promtool = (() => {
  try {
    execFileSync("promtool", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const dir = mkdtempSync(join(tmpdir(), "mlops-dashboards-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("dashboards and alert rules", () => {
  it("ships the operator and the Training runs dashboards, with distinct uids", () => {
    expect(dashboards.map(([, d]) => d.title).sort()).toEqual(["Training runs", "mlops-operator"]);
    expect(new Set(dashboards.map(([, d]) => d.uid)).size).toBe(dashboards.length);
  });

  it("metricNames finds the selected metrics and nothing else", () => {
    expect(
      metricNames(
        'histogram_quantile(0.5, sum by (le, outcome) (increase(mlops_x_bucket{namespace=~"$namespace",a="b c"}[1h]))) and on (namespace) up{job="x"} or vector(0)',
      ).sort(),
    ).toEqual(["mlops_x_bucket", "up"]);
  });

  it("every expression names only metrics the operator or the trainer exports", async () => {
    const known = await exported();
    const unknown = expressions().flatMap(([where, expr]) =>
      metricNames(expr)
        .filter((n) => !known.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(expressions().length).toBeGreaterThan(25);
    expect(unknown).toEqual([]);
  });

  it("an unknown metric is caught (the check can fail)", async () => {
    const known = await exported();
    expect(metricNames("rate(mlops_no_such_metric_total[5m])").filter((n) => !known.has(n))).toEqual([
      "mlops_no_such_metric_total",
    ]);
  });

  it.skipIf(!promtool)("every expression parses (promtool check rules on them as recording rules)", () => {
    const rules = expressions().map(([, expr], i) => ({ record: `check:expr_${i}`, expr: concrete(expr) }));
    const path = join(dir, "expressions.yml");
    writeFileSync(path, stringify({ groups: [{ name: "dashboards", rules }] }));
    const out = execFileSync("promtool", ["check", "rules", path], { encoding: "utf8", stdio: "pipe" });
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it("the MlopsStack's Grafana is provisioned with every shipped dashboard", () => {
    const files = containerOf(
      renderStack(stackOf(), { ...renderOptions, dashboards: assets.dashboards }),
      "grafana",
    ).files;
    for (const [file, d] of dashboards) {
      const provisioned = files.find((f) => f.path === `/etc/grafana/dashboards/mlops/${file}`);
      expect(JSON.parse(provisioned?.content ?? "{}").uid).toBe(d.uid);
    }
    expect(files.map((f) => f.path)).toContain("/etc/grafana/dashboards/mlops/training-runs.json");
  });

  it("the stand-in Grafana (the double's main, as images/standin runs it) loads both from the provisioned folder", async () => {
    const files = containerOf(
      renderStack(stackOf(), { ...renderOptions, dashboards: assets.dashboards }),
      "grafana",
    ).files.filter((f) => f.path.startsWith("/etc/grafana/dashboards/mlops/"));
    const folder = join(dir, "provisioned");
    mkdirSync(folder, { recursive: true });
    for (const f of files) writeFileSync(join(folder, f.path.split("/").pop() as string), f.content);
    const grafana = spawn(
      process.execPath,
      ["test/doubles/grafana/main.ts", "--listen", "127.0.0.1:0", "--dashboards-dir", folder],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        grafana.stdout?.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on (\S+)/.exec(out);
          if (m) resolve(m[1] as string);
        });
        grafana.once("exit", (code) => reject(new Error(`grafana double exited ${code}: ${out}`)));
      });
      for (const [, d] of dashboards) {
        const res = await fetch(`${url}/api/dashboards/uid/${d.uid}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { dashboard: Dashboard };
        expect(body.dashboard.title).toBe(d.title);
        expect(body.dashboard.panels.length).toBe(d.panels.length);
      }
    } finally {
      const exited = new Promise((r) => grafana.once("exit", r));
      grafana.kill("SIGTERM");
      await exited;
    }
  });
});
