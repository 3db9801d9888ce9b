export type { PageQuery, Row, RowFormat } from "./html.ts";
export { escapeHtml, PAGE_SIZE, renderPage } from "./html.ts";
export { CONTENT_SECURITY_POLICY, registerWeb } from "./routes.ts";
export type { StatusFeed } from "./view.ts";
export { StatusView } from "./view.ts";
export { eventLine, HEARTBEAT_MS, MAX_STREAMS } from "./watch-stream.ts";
