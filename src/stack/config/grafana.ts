// Grafana provisioning: the stack's Prometheus as the default datasource, and a file provider for
// the dashboards shipped in manifests/grafana/. The admin password is read from a file (Grafana's
// `__FILE` environment convention) so it never appears in `docker inspect`.
import { stringify } from "yaml";

export const GRAFANA_PROVISIONING = "/etc/grafana/provisioning";
export const GRAFANA_DASHBOARDS = "/etc/grafana/dashboards/mlops";
export const GRAFANA_PASSWORD_FILE = "/etc/grafana/secrets/admin-password";
export const GRAFANA_DATASOURCE_UID = "mlops-prometheus";

export function grafanaDatasources(prometheusUrl: string | undefined): string {
  const datasources =
    prometheusUrl === undefined
      ? []
      : [
          {
            name: "Prometheus",
            uid: GRAFANA_DATASOURCE_UID,
            type: "prometheus",
            access: "proxy",
            url: prometheusUrl,
            isDefault: true,
            editable: false,
          },
        ];
  return stringify({ apiVersion: 1, datasources });
}

export function grafanaDashboardProviders(): string {
  return stringify({
    apiVersion: 1,
    providers: [
      {
        name: "mlops-operator",
        orgId: 1,
        folder: "MLOps",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: GRAFANA_DASHBOARDS, foldersFromFilesStructure: false },
      },
    ],
  });
}
