// Server: Grafana 11.5.2, grafana/grafana. Follows: see each module's header.
export { GRAFANA_COMMIT, GRAFANA_VERSION, health, routeTemplate } from "./routes.ts";
export type { GrafanaDoubleOptions, GrafanaOutage } from "./server.ts";
export { GrafanaDouble, startGrafanaDouble } from "./server.ts";
export type { Annotation, AnnotationQuery, Dashboard, DataSource } from "./state.ts";
export { GrafanaState, itemDto, slugify } from "./state.ts";
