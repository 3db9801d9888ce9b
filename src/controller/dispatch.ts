// From a key to the right reconciler: the source says whether the resource is present, invalid,
// deleted (after the prune guards) or unknown; the dispatcher calls reconcile or finalize, or writes
// the InvalidSpec condition. Reconciling from current state: the event that woke us is not used.
import { type Condition, setConditions } from "../api/conditions.ts";
import type { InvalidSpecError } from "../api/errors.ts";
import { type AnyResource, API_VERSION, type Kind, parseKey, type ResourceKey } from "../api/resources.ts";
import { type Action, awaitChange, type BaseContext, type Reconciler } from "./reconcile.ts";
import type { Source } from "./source.ts";

export interface KindHandler<C extends BaseContext = BaseContext> {
  // biome-ignore lint/suspicious/noExplicitAny: each kind's reconciler takes its own resource type
  readonly reconciler: Reconciler<any, C>;
  readonly context: C;
}

export type Handlers = { readonly [K in Kind]?: KindHandler<BaseContext> };

export function createDispatch(source: Source, handlers: Handlers) {
  return async function dispatch(key: ResourceKey, signal?: AbortSignal): Promise<Action> {
    const { kind } = parseKey(key);
    const handler = handlers[kind];
    if (!handler) return awaitChange;
    const context = signal ? { ...handler.context, signal } : handler.context;
    const lookup = source.lookup(key);
    switch (lookup.state) {
      case "present":
        return handler.reconciler.reconcile(lookup.resource, context);
      case "invalid":
        await writeInvalid(source, key, lookup.error, lookup.lastKnown, context.clock.now());
        handler.reconciler.invalid?.(key, lookup.lastKnown, context);
        return awaitChange;
      case "deleted": {
        const result = await handler.reconciler.finalize(key, lookup.lastKnown, context);
        if (result !== "done") return result;
        // Its events first (what is pending dropped, the batch in flight awaited, the log
        // removed), then its status: a crash between the two leaves the status, so the next
        // start finalizes it again, and never a log without its resource.
        await context.recorder.forget?.(key);
        await source.forget(key);
        return awaitChange;
      }
      case "retained":
      case "absent":
        return awaitChange;
    }
  };
}

/** InvalidSpec: Ready=False and Stalled=True with file:line:col; the last good status is kept otherwise. */
async function writeInvalid(
  source: Source,
  key: ResourceKey,
  error: InvalidSpecError,
  lastKnown: AnyResource | undefined,
  now: Date,
): Promise<void> {
  const { kind, namespace, name } = parseKey(key);
  const generation = lastKnown?.metadata.generation ?? 0;
  const resource = (lastKnown ?? {
    apiVersion: API_VERSION,
    kind,
    metadata: { name, namespace, generation },
    spec: {},
  }) as AnyResource;
  const previous = (resource.status ?? {}) as { conditions?: Condition[] } & Record<string, unknown>;
  const message = error.message;
  const conditions = setConditions(
    previous.conditions,
    [
      { type: "Ready", status: "False", reason: "InvalidSpec", message },
      { type: "Reconciling", status: "False", reason: "InvalidSpec", message: "" },
      { type: "Stalled", status: "True", reason: "InvalidSpec", message },
    ],
    generation,
    now,
  );
  await source.write(resource, { ...previous, conditions } as never);
}
