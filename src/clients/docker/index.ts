export type { ConnectedDocker, DockerConnection, DockerConnectOptions } from "./connect.ts";
export {
  compareApiVersions,
  connectDocker,
  dockerConnection,
  dockerTarget,
  negotiateApiVersion,
  PINNED_API_VERSION,
} from "./connect.ts";
export type { LogLine, LogStream } from "./demux.ts";
export { LogDemuxer } from "./demux.ts";
export type { DockerReason } from "./errors.ts";
export { DockerError, dockerError, engineMessage, isReason, isUnreachable, statusOf } from "./errors.ts";
export type { DockerEvent, DockerEventFilters, DockerEventMessage, DockerEventsOptions } from "./events.ts";
export { backoffMs, dockerEvents, EventCursor, ownedContainerEvents } from "./events.ts";
export { keyFromLabels, LABEL, labelFilter, MANAGED_BY } from "./labels.ts";
export type { LazyDocker } from "./lazy.ts";
export { lazyDocker } from "./lazy.ts";
