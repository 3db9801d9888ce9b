// Kubernetes Events for what the operator did, so that `kubectl describe tj NAME` lists them: core/v1
// Events (the API kubectl describe reads, with the count/lastTimestamp model of client-go's legacy
// recorder, tools/record/event.go), the resource as involvedObject, source component and
// reportingComponent `mlops-operator`, reportingInstance the host (the pod's name). Repeats become a
// strategic merge patch of count, lastTimestamp and message, as client-go sends it; the correlator
// (event-correlator.ts) decides create, patch or skip. Recording never blocks a reconcile: event()
// queues (at most 1000 events, client-go's maxQueuedEvents; more are dropped) and one worker writes
// them in order. A write that fails is logged at debug and dropped, never retried; a patch answered
// 404 (the Event expired, the API server's --event-ttl, 1 h by default) creates a new Event.
import { hostname } from "node:os";
import {
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { messageOf } from "../../api/errors.ts";
import type { ResourceKey } from "../../api/resources.ts";
import type { Clock, EventType, Recorder } from "../../controller/reconcile.ts";
import { systemClock } from "../../controller/reconcile.ts";
import {
  type CorrelatorOptions,
  EventCorrelator,
  type EventInput,
  type ObjectReference,
} from "./event-correlator.ts";

export const EVENT_COMPONENT = "mlops-operator";
export const MAX_QUEUED_EVENTS = 1000;

/** The three calls the recorder makes. */
export interface EventSink {
  create(namespace: string, event: CoreV1Event): Promise<CoreV1Event>;
  /** Strategic merge patch of an Event; rejects with `code` 404 when it no longer exists. */
  patch(namespace: string, name: string, patch: Record<string, unknown>): Promise<CoreV1Event>;
}

export interface KubeEventRecorderOptions {
  readonly sink: EventSink;
  /** The object an event is about, from the source's cache; undefined: nothing to record on. */
  readonly reference: (key: ResourceKey) => ObjectReference | undefined;
  /** reportingInstance and source.host (default: the host name, the pod's name in a cluster). */
  readonly host?: string;
  readonly clock?: Clock;
  readonly log?: Logger;
  readonly queueLimit?: number;
  readonly correlator?: Omit<CorrelatorOptions, "component" | "host">;
}

interface Queued {
  readonly event: EventInput;
  readonly at: Date;
}

export class KubeEventRecorder implements Recorder {
  readonly #options: KubeEventRecorderOptions;
  readonly #host: string;
  readonly #clock: Clock;
  readonly #correlator: EventCorrelator;
  readonly #queue: Queued[] = [];
  #working: Promise<void> | undefined;
  #sequence = 0;
  #closed = false;
  /** Counts, for tests and the debug log. */
  readonly stats = { created: 0, patched: 0, skipped: 0, dropped: 0, failed: 0 };

  constructor(options: KubeEventRecorderOptions) {
    this.#options = options;
    this.#host = options.host ?? hostname();
    this.#clock = options.clock ?? systemClock;
    this.#correlator = new EventCorrelator({
      ...options.correlator,
      component: EVENT_COMPONENT,
      host: this.#host,
    });
  }

  event(key: ResourceKey, type: EventType, reason: string, message: string): void {
    if (this.#closed) return;
    const involvedObject = this.#options.reference(key);
    if (!involvedObject) {
      this.#options.log?.debug({ key, reason }, "no Kubernetes object to record the event on");
      return;
    }
    if (this.#queue.length >= (this.#options.queueLimit ?? MAX_QUEUED_EVENTS)) {
      this.stats.dropped++;
      this.#options.log?.debug({ key, reason }, "Kubernetes event queue full: event dropped");
      return;
    }
    this.#queue.push({ event: { involvedObject, type, reason, message }, at: this.#clock.now() });
    this.#working ??= this.#drain().finally(() => {
      this.#working = undefined;
    });
  }

  /** Resolves once every queued event has been written (or dropped). */
  async flush(): Promise<void> {
    while (this.#working) await this.#working;
  }

  /**
   * Stops taking events and writes what is queued, for at most `timeoutMs` (an API server that does
   * not answer must not hold up shutdown); what is still queued then is dropped.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#closed = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([this.flush(), timeout]);
    clearTimeout(timer);
    if (this.#queue.length > 0) {
      this.stats.dropped += this.#queue.length;
      this.#options.log?.debug({ dropped: this.#queue.length }, "Kubernetes events dropped at shutdown");
      this.#queue.length = 0;
    }
  }

  async #drain(): Promise<void> {
    for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
      try {
        await this.#write(next);
      } catch (error) {
        this.stats.failed++;
        const { involvedObject: o, reason } = next.event;
        this.#options.log?.debug(
          { err: messageOf(error), object: `${o.kind}/${o.namespace}/${o.name}`, reason },
          "could not write a Kubernetes event (dropped)",
        );
      }
    }
  }

  async #write({ event, at }: Queued): Promise<void> {
    const correlation = this.#correlator.correlate(event, at);
    if (correlation.op === "skip") {
      this.stats.skipped++;
      return;
    }
    const namespace = event.involvedObject.namespace;
    if (correlation.op === "patch") {
      try {
        const patched = await this.#options.sink.patch(namespace, correlation.name, {
          count: correlation.count,
          lastTimestamp: rfc3339(at),
          message: event.message,
        });
        this.stats.patched++;
        this.#correlator.written(
          event,
          correlation.name,
          patched.count ?? correlation.count,
          correlation.firstTimestamp,
        );
        return;
      } catch (error) {
        if (codeOf(error) !== 404) throw error;
        this.#correlator.forget(event); // expired: a new Event, counting from 1
      }
    }
    const body = this.#newEvent(event, at);
    const created = await this.#options.sink.create(namespace, body);
    this.stats.created++;
    this.#correlator.written(
      event,
      created.metadata?.name ?? body.metadata.name ?? "",
      created.count ?? 1,
      at,
    );
  }

  #newEvent(event: EventInput, at: Date): CoreV1Event {
    const o = event.involvedObject;
    // client-go names an Event <object name>.<nanoseconds in hex>; the sequence keeps two in one
    // millisecond apart.
    const nanos = BigInt(at.getTime()) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000);
    return {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${o.name}.${nanos.toString(16)}`, namespace: o.namespace },
      involvedObject: {
        apiVersion: o.apiVersion,
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        uid: o.uid,
        ...(o.resourceVersion ? { resourceVersion: o.resourceVersion } : {}),
      },
      reason: event.reason,
      message: event.message,
      type: event.type,
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: EVENT_COMPONENT, host: this.#host },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: this.#host,
    };
  }
}

/** metav1.Time's wire form: RFC 3339 in whole seconds. */
function rfc3339(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function codeOf(error: unknown): number {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === "number" ? value : 0;
}

const STRATEGIC = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);

/** The sink on @kubernetes/client-node: POST and strategic-merge PATCH of core/v1 Events. */
export class ClientEventSink implements EventSink {
  readonly #api: CoreV1Api;

  constructor(config: KubeConfig) {
    this.#api = config.makeApiClient(CoreV1Api);
  }

  create(namespace: string, event: CoreV1Event): Promise<CoreV1Event> {
    return this.#api.createNamespacedEvent({ namespace, body: event });
  }

  patch(namespace: string, name: string, patch: Record<string, unknown>): Promise<CoreV1Event> {
    return this.#api.patchNamespacedEvent({ name, namespace, body: patch }, STRATEGIC);
  }
}
