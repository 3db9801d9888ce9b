// Nomad's wire types, as the HTTP API sends and takes them (only the fields the operator uses;
// real servers send null for empty arrays, maps and times). Durations are integer nanoseconds.

export type Nanos = number;
export const SECOND: Nanos = 1_000_000_000;

export interface NomadConstraint {
  LTarget: string;
  RTarget: string;
  Operand: string;
}

export interface NomadRestartPolicy {
  Attempts: number;
  Interval: Nanos;
  Delay: Nanos;
  Mode: "fail" | "delay";
}

export interface NomadReschedulePolicy {
  Attempts: number;
  Interval: Nanos;
  Delay: Nanos;
  DelayFunction: "constant" | "exponential" | "fibonacci";
  MaxDelay: Nanos;
  Unlimited: boolean;
}

export interface NomadPort {
  Label: string;
  Value?: number;
  To?: number;
}

export interface NomadNetwork {
  Mode?: string;
  DynamicPorts?: NomadPort[] | null;
  ReservedPorts?: NomadPort[] | null;
}

export interface NomadServiceCheck {
  Name: string;
  Type: "http" | "tcp" | "script" | "grpc";
  Path?: string;
  PortLabel?: string;
  AddressMode?: string;
  Interval: Nanos;
  Timeout: Nanos;
}

export interface NomadService {
  Name: string;
  Provider: "consul" | "nomad";
  PortLabel: string;
  AddressMode: "auto" | "host" | "driver" | "alloc";
  Tags: string[];
  Meta: Record<string, string>;
  Checks: NomadServiceCheck[];
  TaskName?: string;
}

export interface NomadDevice {
  Name: string;
  Count: number;
  Constraints?: NomadConstraint[] | null;
}

export interface NomadResources {
  CPU: number;
  MemoryMB: number;
  Devices?: NomadDevice[] | null;
}

export interface NomadTask {
  Name: string;
  Driver: string;
  Config: Record<string, unknown>;
  Env?: Record<string, string> | null;
  Resources: NomadResources;
  Services?: NomadService[] | null;
  Meta?: Record<string, string> | null;
  KillTimeout?: Nanos;
  VolumeMounts?: { Volume: string; Destination: string; ReadOnly: boolean }[] | null;
  Templates?: NomadTemplate[] | null;
}

/** A task's template block (api/tasks.go Template); Envvars: the rendered file becomes environment. */
export interface NomadTemplate {
  EmbeddedTmpl: string;
  DestPath: string;
  Envvars: boolean;
  ChangeMode: "noop" | "restart" | "signal" | "script";
}

export interface NomadTaskGroup {
  Name: string;
  Count: number;
  Constraints?: NomadConstraint[] | null;
  RestartPolicy?: NomadRestartPolicy | null;
  ReschedulePolicy?: NomadReschedulePolicy | null;
  Networks?: NomadNetwork[] | null;
  Services?: NomadService[] | null;
  Tasks: NomadTask[];
  Meta?: Record<string, string> | null;
  Volumes?: Record<string, { Name: string; Type: "host" | "csi"; Source: string; ReadOnly: boolean }> | null;
  /** Nomad ≥ 2.0.3 (max_run_duration); only rendered where the server supports it. */
  MaxRunDuration?: Nanos;
}

export interface NomadJob {
  ID: string;
  Name: string;
  Namespace: string;
  Type: "batch" | "service" | "system" | "sysbatch";
  Priority: number;
  Datacenters: string[];
  NodePool?: string;
  Constraints?: NomadConstraint[] | null;
  TaskGroups: NomadTaskGroup[];
  Meta?: Record<string, string> | null;
  Region?: string;
  // Server-side fields (reads):
  Status?: "pending" | "running" | "dead";
  StatusDescription?: string;
  Stop?: boolean;
  Version?: number;
  CreateIndex?: number;
  ModifyIndex?: number;
  JobModifyIndex?: number;
  SubmitTime?: number;
}

export interface NomadJobListStub {
  ID: string;
  Name: string;
  Namespace: string;
  Type: string;
  Priority: number;
  Status: string;
  Stop: boolean;
  Meta?: Record<string, string> | null;
  JobModifyIndex: number;
  ModifyIndex: number;
  CreateIndex: number;
  SubmitTime: number;
}

export interface NomadTaskEvent {
  Type: string;
  Time: number;
  Message?: string;
  DisplayMessage?: string;
  ExitCode?: number;
  Signal?: number;
  DriverError?: string;
  FailsTask?: boolean;
  Details?: Record<string, string> | null;
}

export interface NomadTaskState {
  State: "pending" | "running" | "dead";
  Failed: boolean;
  Restarts: number;
  StartedAt: string | null;
  FinishedAt: string | null;
  LastRestart?: string | null;
  Events: NomadTaskEvent[] | null;
}

export type AllocClientStatus = "pending" | "running" | "complete" | "failed" | "lost" | "unknown";

export interface NomadAllocation {
  ID: string;
  EvalID: string;
  Name: string;
  Namespace: string;
  NodeID: string;
  NodeName: string;
  JobID: string;
  JobType?: string;
  JobVersion: number;
  TaskGroup: string;
  DesiredStatus: "run" | "stop" | "evict";
  DesiredDescription: string;
  ClientStatus: AllocClientStatus;
  ClientDescription: string;
  TaskStates: Record<string, NomadTaskState> | null;
  FollowupEvalID: string;
  NextAllocation?: string;
  PreviousAllocation?: string;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}

export interface NomadAllocationMetric {
  NodesEvaluated: number;
  NodesFiltered: number;
  NodesExhausted: number;
  ConstraintFiltered: Record<string, number> | null;
  DimensionExhausted: Record<string, number> | null;
  ClassFiltered?: Record<string, number> | null;
  ClassExhausted?: Record<string, number> | null;
  CoalescedFailures: number;
}

export interface NomadEvaluation {
  ID: string;
  JobID: string;
  Namespace: string;
  Status: string;
  StatusDescription?: string;
  BlockedEval?: string;
  FailedTGAllocs: Record<string, NomadAllocationMetric> | null;
  /** The JobModifyIndex of the job version the evaluation was made for. */
  JobModifyIndex?: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface NomadJobSummary {
  JobID: string;
  Namespace: string;
  Summary: Record<
    string,
    { Queued: number; Complete: number; Failed: number; Running: number; Starting: number; Lost: number }
  >;
  CreateIndex: number;
  ModifyIndex: number;
}

/** structs.JobDeregisterResponse (VolumeEvalID/VolumeEvalIndex and the rest of QueryMeta not read). */
export interface NomadDeregisterResponse {
  /** Empty when Nomad did not know the job (or it is periodic or parameterized). */
  EvalID: string;
  EvalCreateIndex: number;
  /** 0 when Nomad did not know the job. */
  JobModifyIndex: number;
  Index: number;
}

/** structs.JobRegisterResponse: the evaluation, the job's new modify index, warnings and QueryMeta. */
export interface NomadRegisterResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Warnings: string;
  Index: number;
  LastContact: number;
  KnownLeader: boolean;
  NextToken: string;
}

export interface NomadPlanResponse {
  JobModifyIndex: number;
  CreatedEvals: unknown[] | null;
  Diff: { Type: string } | null;
  FailedTGAllocs: Record<string, NomadAllocationMetric> | null;
  Annotations: {
    DesiredTGUpdates: Record<string, Record<string, number>> | null;
  } | null;
  Warnings: string;
}

export interface NomadEvent {
  Topic: string;
  Type: string;
  Key: string;
  Namespace: string;
  FilterKeys?: string[] | null;
  Index: number;
  Payload: Record<string, unknown>;
}

/** One line of /v1/event/stream; heartbeats are `{}`. */
export interface NomadEventFrame {
  Index?: number;
  Events?: NomadEvent[];
}

/** `index` and headers of a blocking query answer. */
export interface QueryMeta {
  index: number;
  knownLeader: boolean;
  lastContactMs: number;
  nextToken?: string;
}

/** A Nomad Variable as PUT and GET /v1/var/:path answer it (nomad/structs/variables.go). */
export interface NomadVariable {
  Namespace: string;
  Path: string;
  Items: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}
