// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: see each module's header.
export type { Frame } from "./event-buffer.ts";
export { EventBuffer, topicFilter } from "./event-buffer.ts";
export type { AllocHandle, Executor, SimulatedOptions } from "./executor.ts";
export { ScriptedExecutor, SimulatedExecutor } from "./executor.ts";
export { compileFilter } from "./filter.ts";
export type { ExitOptions } from "./lifecycle.ts";
export { Lifecycle } from "./lifecycle.ts";
export type { DoubleDevice, DoubleNode, GroupPlacement } from "./placement.ts";
export {
  doubleNode,
  EXHAUSTED_DEVICES,
  FILTER_DEVICES,
  FILTER_HOST_VOLUMES,
  filteredBy,
  gpuNode,
  placeGroup,
} from "./placement.ts";
export type { NomadDoubleOptions, Outage, RequestRecord } from "./server.ts";
export { NomadDouble, parseWait, startNomadDouble } from "./server.ts";
export type { ConsulRegistration, ServicesHook } from "./services.ts";
export { registrations, ServiceRegistrar } from "./services.ts";
export type { JobRecord, Table } from "./state.ts";
export { NomadDoubleError, NomadState } from "./state.ts";
export { destructiveChange, groupUpdated } from "./updates.ts";
export { allocStub, canonical, fullAlloc } from "./wire.ts";
