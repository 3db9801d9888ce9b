// Builds NomadSchedulers for the composition root (SchedulerFactories.nomad): one client per Nomad
// address, connection settings from options or the NOMAD_* environment, the operator's owner id.
import type { Logger } from "pino";
import { NomadClient } from "../../clients/nomad/client.ts";
import type { Env, NomadConfig } from "../../clients/nomad/config.ts";
import type { EventStreamOptions } from "../../clients/nomad/events.ts";
import type { Adoption } from "../adoption.ts";
import { NomadScheduler } from "./scheduler.ts";

export interface NomadSchedulerFactoryOptions {
  readonly ownerId: string;
  /** Token, region, TLS... (the address comes per call). */
  readonly config?: Partial<NomadConfig>;
  readonly env?: Env;
  readonly events?: EventStreamOptions;
  readonly log?: Logger;
  /** Previous default owner ids whose jobs are adopted, shared by every Nomad. */
  readonly adoption?: Adoption;
  /** False: the schedulers observe from their first list alone, with no event stream (`run --once`). */
  readonly followEvents?: boolean;
}

export function nomadSchedulerFactory(
  options: NomadSchedulerFactoryOptions,
): (address: string, network: string | undefined, stack?: string) => NomadScheduler {
  return (address, network, stack) =>
    new NomadScheduler({
      client: new NomadClient({ ...options.config, address }, options.env ?? process.env),
      ownerId: options.ownerId,
      ownsClient: true,
      ...(network ? { network } : {}),
      ...(stack ? { stack } : {}),
      ...(options.events ? { events: options.events } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.adoption ? { adoption: options.adoption } : {}),
      ...(options.followEvents === false ? { followEvents: false } : {}),
    });
}
