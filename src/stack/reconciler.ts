// The MlopsStack reconciler: observe → render → diff → apply → status, one status write per
// reconcile; render, diff and status are pure. Components start in readiness order; the reconciler
// never waits: it requeues until health checks pass, and Docker events (changes()) wake it for drift.
// Deletion (finalize.ts) removes what the operator owns once no TrainingJob names the stack.
import { type Observable, of, ReplaySubject, switchMap, take } from "rxjs";
import type { MlopsStack, MlopsStackStatus, ResourceKey } from "../api/resources.ts";
import { type Action, awaitChange, type Reconciler, requeue } from "../controller/reconcile.ts";
import { stackComponents } from "../observability/metrics.ts";
import { apply, type Failures } from "./apply.ts";
import type { StackContext } from "./context.ts";
import { diff, type Plan } from "./diff.ts";
import { finalizeStack } from "./finalize.ts";
import { type Observation, observe, observeObjects } from "./observe.ts";
import { type RenderOptions, renderStack, stackKeyOf } from "./render.ts";
import { isReady, stackStatus } from "./status.ts";
import { type StackWatch, stackChanges } from "./watch.ts";

const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";
const DEFAULT_PROGRESS_REQUEUE_MS = 1000;
const DEFAULT_FAILURE_REQUEUE_MS = 10_000;

export class StackReconciler implements Reconciler<MlopsStack, StackContext> {
  readonly kind = "MlopsStack" as const;
  /** Stacks reconciled and not finalized: looked at again when the Docker event stream resyncs. */
  readonly #known = new Set<ResourceKey>();
  readonly #watch: StackWatch | undefined;
  /** Emits at the first reconcile: the event stream is subscribed then, not before (no stack, no Docker). */
  readonly #first = new ReplaySubject<void>(1);
  #reconciled = false;

  /** `watch`: the Docker events that wake stacks on drift; without it, changes() emits nothing. */
  constructor(watch?: StackWatch) {
    this.#watch = watch;
  }

  async reconcile(stack: MlopsStack, ctx: StackContext): Promise<Action> {
    this.#known.add(stackKeyOf(stack));
    if (!this.#reconciled) {
      this.#reconciled = true;
      this.#first.next();
    }
    const seen = await observe(stack, ctx);
    const desired = renderStack(stack, renderOptions(seen, ctx));
    const plan = diff(desired, seen.objects, { ownerId: ctx.ownerId });
    const failures = await apply(plan, desired, ctx);
    const after = plan.steps.length > 0 ? await observeObjects(stack, ctx.docker) : seen.objects;
    const status = stackStatus({ stack, desired, observed: after, plan, failures, now: ctx.clock.now() });
    await ctx.status.write(stack, status);
    recordComponents(stack, status);
    return nextLook(status, plan, failures, ctx);
  }

  async finalize(
    key: ResourceKey,
    lastKnown: MlopsStack | undefined,
    ctx: StackContext,
  ): Promise<Action | "done"> {
    const result = await finalizeStack(key, lastKnown, ctx);
    if (result === "done") this.#known.delete(key);
    return result;
  }

  /**
   * Keys of stacks whose containers changed in Docker (removed, stopped, health changed), watched
   * from the first reconcile on: an operator that declares no MlopsStack opens no Docker event stream.
   */
  changes(): Observable<ResourceKey> {
    const watch = this.#watch;
    if (watch === undefined) return of();
    return this.#first.pipe(
      take(1),
      switchMap(() => stackChanges(watch, () => [...this.#known])),
    );
  }
}

/** Render's inputs: what was observed and the operator's settings (pure). */
export function renderOptions(
  seen: Pick<Observation, "dockerRootDir" | "grafanaAdminPassword">,
  ctx: Pick<StackContext, "ownerId" | "operatorPort" | "assets" | "dockerSocket" | "extraLabels">,
): RenderOptions {
  return {
    ownerId: ctx.ownerId,
    operatorPort: ctx.operatorPort,
    dockerRootDir: seen.dockerRootDir,
    dockerSocket: ctx.dockerSocket ?? DEFAULT_DOCKER_SOCKET,
    dashboards: ctx.assets.dashboards,
    ...(ctx.assets.alertRules === undefined ? {} : { alertRules: ctx.assets.alertRules }),
    grafanaAdminPassword: seen.grafanaAdminPassword,
    ...(ctx.extraLabels ? { extraLabels: ctx.extraLabels } : {}),
  };
}

/** When to look again (pure): on a change once Ready, soon while starting, later after a failure. */
export function nextLook(
  status: MlopsStackStatus,
  plan: Plan,
  failures: Failures,
  timing: Pick<StackContext, "progressRequeueMs" | "failureRequeueMs">,
): Action {
  if (isReady(status)) return awaitChange;
  const failed = Object.keys(failures).length > 0 || Object.keys(plan.blocked).length > 0;
  return requeue(
    failed
      ? (timing.failureRequeueMs ?? DEFAULT_FAILURE_REQUEUE_MS)
      : (timing.progressRequeueMs ?? DEFAULT_PROGRESS_REQUEUE_MS),
  );
}

/** The stack_components gauge: 1 per component running, healthy and without a problem. */
function recordComponents(stack: MlopsStack, status: MlopsStackStatus): void {
  for (const [component, s] of Object.entries(status.components ?? {})) {
    stackComponents.set(
      { namespace: stack.metadata.namespace, stack: stack.metadata.name, component },
      s?.state === "running" && s.health === "healthy" && !s.reason ? 1 : 0,
    );
  }
}
