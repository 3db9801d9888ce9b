export { ensureDir, writeFileAtomic } from "./atomic.ts";
export type { EventRecord } from "./event-merge.ts";
export { mergeEvents } from "./event-merge.ts";
export type { EventLogOptions } from "./events.ts";
export { DEFAULT_EVENT_LIMIT, EventLog, readEvents } from "./events.ts";
export type { FolderChange } from "./folder-watch.ts";
export { StatusFolderWatch } from "./folder-watch.ts";
export type { FormatCheck } from "./format.ts";
export { ensureFormat, formatPath, readFormat, STATE_FORMAT, StateFormatError } from "./format.ts";
export type { GenerationEntry } from "./generations.ts";
export { Generations } from "./generations.ts";
export { canonicalJson, specHash } from "./hash.ts";
export { runIoWorkerInBackground, StateWorkerExitedError, setInThreadFiles } from "./io-worker.ts";
export { removeLeftovers } from "./leftovers.ts";
export type { LockHolder, LockOptions, StateLock } from "./lock.ts";
export { acquireLock, LockFailedError, StateLockedError } from "./lock.ts";
export { DIR_MODE, FILE_MODE, secureStateDir } from "./modes.ts";
export type { OpenedState } from "./open.ts";
export { openStateDir } from "./open.ts";
export {
  defaultStateDir,
  eventsPath,
  generationsPath,
  lockPath,
  resolveStateDir,
  statusPath,
} from "./paths.ts";
export type { StatusRecord } from "./record.ts";
export { listRecords, readRecord, readRecordSync, recordToResource } from "./record.ts";
export { sameRecord } from "./same-record.ts";
export { FileSharedState } from "./shared-file.ts";
export type { StatusRecordChange } from "./store.ts";
export { fingerprint, StateStore } from "./store.ts";
export { removeStrayEventLogs } from "./stray-events.ts";
export type { Known, RecordEvent, RecordEventType, RecordScope, WatchRecordsOptions } from "./watch.ts";
export { diffRecords, listScope, watchRecords } from "./watch.ts";
