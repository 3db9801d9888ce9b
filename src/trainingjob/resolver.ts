// Where a TrainingJob runs: the Nomad of the MlopsStack named by spec.stackRef, once that
// stack is Ready; else the Nomad the operator is configured with; else the local Docker engine.
// Schedulers are built lazily by factories from the composition root and cached per target.
import { findCondition } from "../api/conditions.ts";
import { type MlopsStack, makeKey, type TrainingJob } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";
import type { Scheduler, SchedulerName } from "../scheduler/port.ts";
import type { SchedulerChoice, SchedulerResolver } from "./context.ts";
import type { MetricsHealth, ProgressReader, RunAnnotator } from "./ports.ts";

export type SchedulerMode = "auto" | "docker" | "nomad";

/** The Grafana, Consul and Prometheus of a Ready stack, for the runs placed on its Nomad. */
export interface StackPorts {
  readonly annotator?: RunAnnotator;
  readonly health?: MetricsHealth;
  readonly progress?: ProgressReader;
}

export interface SchedulerFactories {
  readonly mode: SchedulerMode;
  /** The local Docker engine (undefined when Docker is not available to the operator). */
  readonly docker?: () => Scheduler;
  /**
   * A Nomad at an address; `network` is the Docker network training containers join and `stack` the
   * `namespace/name` of the MlopsStack whose Nomad it is (stacks only).
   */
  readonly nomad?: (address: string, network: string | undefined, stack?: string) => Scheduler;
  /** The Nomad the operator is configured with (NOMAD_ADDR or --nomad-addr), if any. */
  readonly configuredNomad?: string;
  /** Builds the ports of a stack (once per stack and endpoints). */
  readonly stackPorts?: (stack: MlopsStack) => StackPorts;
}

export class DefaultSchedulerResolver implements SchedulerResolver {
  readonly #factories: SchedulerFactories;
  readonly #cache = new Map<string, Scheduler>();
  readonly #stackPorts = new Map<string, StackPorts>();

  constructor(factories: SchedulerFactories) {
    this.#factories = factories;
  }

  resolve(job: TrainingJob, resources: ResourceIndex): SchedulerChoice {
    const { mode, configuredNomad } = this.#factories;
    const stackRef = job.spec.stackRef;
    if (stackRef && mode !== "docker") {
      const stack = resources.get(makeKey("MlopsStack", job.metadata.namespace, stackRef)) as
        | MlopsStack
        | undefined;
      if (!stack) {
        return blocked("WaitingForStack", `MlopsStack ${job.metadata.namespace}/${stackRef} does not exist`);
      }
      const ready = findCondition(stack.status?.conditions, "Ready");
      const nomad = stack.status?.endpoints?.nomad?.host;
      if (ready?.status !== "True" || !nomad) {
        return blocked(
          "WaitingForStack",
          `MlopsStack ${job.metadata.namespace}/${stackRef} is not Ready${ready ? ` (${ready.reason})` : ""}`,
        );
      }
      const choice = this.#nomad(
        nomad,
        stack.spec.network.name,
        `${stack.metadata.namespace}/${stack.metadata.name}`,
      );
      return "scheduler" in choice ? { ...choice, ...this.#portsOf(stack) } : choice;
    }
    if (mode === "nomad" || (mode === "auto" && configuredNomad)) {
      if (!configuredNomad) {
        return blocked("NomadUnavailable", "--scheduler nomad needs NOMAD_ADDR or --nomad-addr", true);
      }
      return this.#nomad(configuredNomad, undefined);
    }
    return this.#docker();
  }

  byTarget(name: SchedulerName, target: string): Scheduler | undefined {
    const cached = this.#cache.get(`${name} ${target}`);
    if (cached) return cached;
    if (name === "docker" && this.#factories.docker)
      return this.#get("docker", target, this.#factories.docker);
    if (name === "nomad" && this.#factories.nomad) {
      const nomad = this.#factories.nomad;
      return this.#get("nomad", target, () => nomad(target, undefined));
    }
    return undefined;
  }

  /**
   * Every scheduler this configuration places runs on: local Docker (with --scheduler docker, or
   * auto without a configured Nomad, or once built for a run recorded there), the configured Nomad
   * (unless --scheduler docker) and the Nomad of each Ready MlopsStack. Orphan clean-up visits
   * each; building one connects nothing until it is called. A run on Nomad never reaches Docker.
   */
  candidates(resources: ResourceIndex): Scheduler[] {
    const out = new Set<Scheduler>();
    const { mode, configuredNomad: configured } = this.#factories;
    const dockerRuns = mode === "docker" || (mode === "auto" && !configured);
    const docker =
      dockerRuns || this.#cache.has("docker local") ? this.byTarget("docker", "local") : undefined;
    if (docker) out.add(docker);
    const nomad = configured && mode !== "docker" ? this.byTarget("nomad", configured) : undefined;
    if (nomad) out.add(nomad);
    for (const stack of resources.list("MlopsStack") as MlopsStack[]) {
      const address = stack.status?.endpoints?.nomad?.host;
      if (!address || findCondition(stack.status?.conditions, "Ready")?.status !== "True") continue;
      const choice = this.#nomad(
        address,
        stack.spec.network.name,
        `${stack.metadata.namespace}/${stack.metadata.name}`,
      );
      if ("scheduler" in choice) out.add(choice.scheduler);
    }
    return [...out];
  }

  /** Every scheduler built so far (orphan cleanup, event streams, shutdown). */
  built(): Scheduler[] {
    return [...this.#cache.values()];
  }

  #portsOf(stack: MlopsStack): StackPorts {
    const make = this.#factories.stackPorts;
    if (!make) return {};
    const id = `${stack.metadata.namespace}/${stack.metadata.name} ${JSON.stringify(stack.status?.endpoints ?? {})}`;
    let ports = this.#stackPorts.get(id);
    if (!ports) {
      ports = make(stack);
      this.#stackPorts.set(id, ports);
    }
    return ports;
  }

  #nomad(address: string, network: string | undefined, stack?: string): SchedulerChoice {
    const factory = this.#factories.nomad;
    if (!factory) return blocked("NomadUnavailable", "this operator was built without a Nomad client", true);
    return { scheduler: this.#get("nomad", address, () => factory(address, network, stack)) };
  }

  #docker(): SchedulerChoice {
    const factory = this.#factories.docker;
    if (!factory)
      return blocked("DockerUnavailable", "no Nomad is configured and no Docker engine is available", true);
    return { scheduler: this.#get("docker", "local", factory) };
  }

  #get(name: SchedulerName, target: string, make: () => Scheduler): Scheduler {
    const id = `${name} ${target}`;
    let scheduler = this.#cache.get(id);
    if (!scheduler) {
      scheduler = make();
      this.#cache.set(id, scheduler);
    }
    return scheduler;
  }
}

function blocked(reason: string, message: string, stalled = false): SchedulerChoice {
  return { blocker: { reason, message, stalled } };
}
