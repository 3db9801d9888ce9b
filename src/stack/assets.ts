// The files shipped with the operator that go into every stack: Grafana dashboards
// (manifests/grafana/*.json) and the operator's alert rules (manifests/prometheus/alerts.yml).
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { MANIFESTS_URL } from "../api/paths.ts";

export interface StackAssets {
  readonly dashboards: Readonly<Record<string, string>>;
  readonly alertRules?: string;
}

export const MANIFESTS_DIR = fileURLToPath(MANIFESTS_URL);

export async function loadStackAssets(dir = MANIFESTS_DIR): Promise<StackAssets> {
  const dashboards: Record<string, string> = {};
  const grafana = `${dir}/grafana`;
  for (const file of (await readdir(grafana).catch(() => [])).sort()) {
    if (file.endsWith(".json")) dashboards[file] = await readFile(`${grafana}/${file}`, "utf8");
  }
  const alertRules = await readFile(`${dir}/prometheus/alerts.yml`, "utf8").catch(() => undefined);
  return alertRules === undefined ? { dashboards } : { dashboards, alertRules };
}
