export type { ListJobsOptions, LogsOptions, QueryOptions, QueryResult, RegisterOptions } from "./client.ts";
export { NomadClient } from "./client.ts";
export type { Env, NomadConfig } from "./config.ts";
export { DEFAULT_NOMAD_ADDR, nomadConfig, normalizeAddress } from "./config.ts";
export { fromStatus, NomadError, NomadReason, toNomadError } from "./errors.ts";
export type { EventStreamOptions, StreamSignal } from "./events.ts";
export { DEFAULT_STALL_MS, DEFAULT_TOPICS, HEARTBEAT_MS, nomadEventStream } from "./events.ts";
export type {
  AllocClientStatus,
  Nanos,
  NomadAllocation,
  NomadAllocationMetric,
  NomadConstraint,
  NomadDeregisterResponse,
  NomadDevice,
  NomadEvaluation,
  NomadEvent,
  NomadEventFrame,
  NomadJob,
  NomadJobListStub,
  NomadJobSummary,
  NomadNetwork,
  NomadPlanResponse,
  NomadPort,
  NomadRegisterResponse,
  NomadReschedulePolicy,
  NomadResources,
  NomadRestartPolicy,
  NomadService,
  NomadServiceCheck,
  NomadTask,
  NomadTaskEvent,
  NomadTaskGroup,
  NomadTaskState,
  QueryMeta,
} from "./types.ts";
export { SECOND } from "./types.ts";
export type { Version } from "./version.ts";
export { atLeast, parseVersion, supportsMaxRunDuration } from "./version.ts";
