// Observed stack → status (pure): per-component state, endpoints, and the conditions Ready,
// Reconciling, Degraded and Stalled. Abnormal-true conditions (Reconciling, Degraded, Stalled) are
// present only while true; Ready is always present.
import { type ConditionInput, setConditions } from "../api/conditions.ts";
import type { StackComponent } from "../api/names.ts";
import type { MlopsStack, MlopsStackStatus } from "../api/resources.ts";
import { isConverged, type Plan, type Problem } from "./diff.ts";
import { type DesiredStack, type ObservedStack, TIERS } from "./model.ts";
import { hostPortOf } from "./render.ts";

export interface StatusInput {
  readonly stack: MlopsStack;
  readonly desired: DesiredStack;
  /** What Docker shows after the plan was applied. */
  readonly observed: ObservedStack;
  readonly plan: Plan;
  /** Failures while applying, by component (or the network). */
  readonly failures: Partial<Record<StackComponent | "network", Problem>>;
  /** A terminal problem with the spec (InvalidSpec): Stalled. */
  readonly invalid?: Problem;
  /** Deletion waits for these (DependentsExist). */
  readonly dependents?: readonly string[];
  readonly revision?: string;
  readonly now: Date;
}

type Components = NonNullable<MlopsStackStatus["components"]>;
type Endpoints = NonNullable<MlopsStackStatus["endpoints"]>;

export function endpointsOf(stack: MlopsStack): Endpoints {
  const out: Endpoints = {};
  for (const component of TIERS.flat()) {
    const c = stack.spec[component];
    if (!c.enabled) continue;
    const hostPort = hostPortOf(c);
    out[component] = {
      internal: `http://${c.ip}:${c.port}`,
      ...(hostPort === 0 ? {} : { host: `http://127.0.0.1:${hostPort}` }),
    };
  }
  return out;
}

function problemsOf(input: StatusInput): [string, Problem][] {
  const out: [string, Problem][] = [];
  const seen = new Set<string>();
  for (const source of [input.failures, input.plan.blocked]) {
    for (const [what, problem] of Object.entries(source) as [string, Problem][]) {
      if (seen.has(what)) continue;
      seen.add(what);
      out.push([what, problem]);
    }
  }
  for (const want of input.desired.containers) {
    const have = input.observed.containers[want.component];
    if (seen.has(want.component) || have === undefined) continue;
    if (have.state === "running" && have.health === "unhealthy") {
      out.push([want.component, { reason: "Unhealthy", message: `${want.name} reports unhealthy` }]);
    } else if (have.state === "restarting") {
      const code = have.exitCode === undefined ? "" : ` (last exit code ${have.exitCode})`;
      out.push([
        want.component,
        { reason: "Restarting", message: `${want.name} keeps exiting${code}: see docker logs ${want.name}` },
      ]);
    }
  }
  return out;
}

export function stackStatus(input: StatusInput): MlopsStackStatus {
  const { stack, desired, observed, plan } = input;
  const problems = problemsOf(input);
  const problemOf = new Map(problems);
  const components: Components = {};
  const pending: string[] = [];
  for (const want of desired.containers) {
    const have = observed.containers[want.component];
    const problem = problemOf.get(want.component);
    const waitsFor = plan.waiting[want.component];
    const owned = have !== undefined && problem?.reason !== "NameConflict";
    components[want.component] = {
      image: want.image,
      ...(owned ? { containerId: have.id, state: have.state, health: have.health } : { state: "absent" }),
      ...(owned && have.ip !== undefined ? { ip: have.ip } : {}),
      ...(problem
        ? { reason: problem.reason, message: problem.message }
        : waitsFor
          ? { reason: "Waiting", message: `waiting for ${waitsFor.join(", ")} to become healthy` }
          : {}),
    };
    if (!isConverged(want, have)) pending.push(want.component);
  }
  const networkOk = observed.network !== undefined && problemOf.get("network") === undefined;
  const ready = networkOk && pending.length === 0 && problems.length === 0 && !input.dependents;
  const total = desired.containers.length;
  const conditions: ConditionInput[] = [];
  const first = problems[0];
  if (input.dependents) {
    const message = `deletion waits for TrainingJobs that name this stack: ${input.dependents.join(", ")}`;
    conditions.push({ type: "Ready", status: "False", reason: "DependentsExist", message });
    conditions.push({ type: "Reconciling", status: "True", reason: "DependentsExist", message });
  } else if (input.invalid) {
    conditions.push({ type: "Ready", status: "False", ...input.invalid });
    conditions.push({ type: "Stalled", status: "True", ...input.invalid });
  } else if (ready) {
    conditions.push({
      type: "Ready",
      status: "True",
      reason: "Ready",
      message: `all ${total} components are running and healthy`,
    });
  } else {
    const message =
      first !== undefined
        ? problems.map(([what, p]) => `${what}: ${p.message}`).join("; ")
        : `waiting for ${pending.join(", ") || "the network"} to become running and healthy`;
    conditions.push({ type: "Ready", status: "False", reason: first?.[1].reason ?? "Progressing", message });
    if (pending.length > 0 || !networkOk) {
      conditions.push({
        type: "Reconciling",
        status: "True",
        reason: "Progressing",
        message: `${total - pending.length}/${total} components ready; waiting for ${pending.join(", ") || "the network"}`,
      });
    }
  }
  if (first !== undefined && !input.invalid) {
    conditions.push({
      type: "Degraded",
      status: "True",
      reason: first[1].reason,
      message: problems.map(([what, p]) => `${what}: ${p.message}`).join("; "),
    });
  }
  const generation = stack.metadata.generation;
  return {
    observedGeneration: generation,
    conditions: setConditions(stack.status?.conditions, conditions, generation, input.now),
    ...(input.revision ? { lastAppliedRevision: input.revision } : {}),
    components,
    endpoints: endpointsOf(stack),
  };
}

/** True when the status says every component is Ready (used to decide how soon to look again). */
export function isReady(status: MlopsStackStatus): boolean {
  return status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
