// The MlopsStack kind: what the composition root wires (reconciler, Docker port, assets, HTTP service
// discovery) and what other kinds read (the Grafana credential, the scrape tag and meta key).
export type { StackAssets } from "./assets.ts";
export { loadStackAssets, MANIFESTS_DIR } from "./assets.ts";
export { METRICS_PATH_META, SCRAPE_TAG, SD_PATH } from "./config/prometheus.ts";
export type { Plan, Problem, Step } from "./diff.ts";
export { describeStep, diff } from "./diff.ts";
export type { OwnedObjects, StackDocker } from "./docker.ts";
export { stackDocker } from "./docker.ts";
export { StackError } from "./errors.ts";
export type { DesiredStack, ObservedStack } from "./model.ts";
export { LABELS } from "./model.ts";
export type { StackReconciler, StackReconcilerOptions } from "./reconciler.ts";
export { createStackReconciler, stackEventFilters } from "./reconciler.ts";
export type { RenderOptions } from "./render.ts";
export { renderStack } from "./render.ts";
export type { ScrapeTarget, ScrapeTargetProvider, SdGroup } from "./sd.ts";
export { sdGroups, sdHandler } from "./sd.ts";
export { grafanaAdminPassword, grafanaPasswordPath } from "./secrets.ts";
export { endpointsOf, stackStatus } from "./status.ts";
