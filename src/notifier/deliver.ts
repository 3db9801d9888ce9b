// Delivery of TrainingJob and MlopsStack phase changes to the Notifiers that select them: an HTTP POST
// of the JSON payload (or, for type slack, a Slack message) per (notifier, resource, run, transition),
// in the background (a reconcile never waits), retried with backoff on network errors, timeouts, 408,
// 429 and 5xx; other 4xx answers are final. The address and signing key are read per attempt
// (credentials.ts) and never logged; a request is signed (sign.ts) when the Notifier names a key, and
// is not sent while that key cannot be read. One resource's notifications to one Notifier are sent in
// the order of its transitions (the next after the previous was answered or given up); different
// resources and Notifiers are sent concurrently.
import type { Logger } from "pino";
import { type BackoffCurve, backoffDelay, pause } from "../api/backoff.ts";
import { messageOf } from "../api/errors.ts";
import { byCodeUnits } from "../api/order.ts";
import { type AnyResource, keyOf, type Notifier } from "../api/resources.ts";
import { notificationsTotal } from "../observability/metrics.ts";
import { type Credentials, credentialsOf, type NotifierSecrets } from "./credentials.ts";
import type { Outbox } from "./outbox.ts";
import { type Payload, payloadOf, selects, watches } from "./select.ts";
import { signatureHeaders } from "./sign.ts";
import { slackMessage } from "./slack.ts";

export interface NotificationsOptions extends NotifierSecrets {
  readonly outbox: Outbox;
  /** The Notifiers declared now. */
  readonly notifiers: () => readonly Notifier[];
  readonly log: Logger;
  readonly curve?: BackoffCurve;
  /** Attempts per notification before giving up (default 8). */
  readonly maxAttempts?: number;
  /** Per request (default 10 s). */
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

const DEFAULT_CURVE: BackoffCurve = { initialMs: 1000, maxMs: 300_000, jitter: 0.2 };

export class Notifications {
  readonly #options: NotificationsOptions;
  readonly #stop = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  /** The last delivery queued per (notifier, resource): the next one starts after it. */
  readonly #lines = new Map<string, Promise<void>>();
  #outbox: Outbox;

  constructor(options: NotificationsOptions) {
    this.#options = options;
    this.#outbox = options.outbox;
  }

  /**
   * Sends again what a previous run recorded as pending; with `outbox`, records in it from now on
   * (a new leader's, read from shared state).
   */
  resume(outbox?: Outbox): void {
    if (outbox) this.#outbox = outbox;
    // In the order the transitions happened (the outbox keeps them in shards).
    const pending = this.#outbox.pending().sort((a, b) => byCodeUnits(a.time, b.time));
    for (const payload of pending) this.#track(this.#inOrder(payload));
  }

  /** A TrainingJob's or MlopsStack's phase changed: queue one notification per Notifier that selects it; returns at once. */
  phaseChanged(resource: AnyResource, from: string | undefined, to: string | undefined): void {
    // Only the Notifiers that hear of this resource at all; the record keeps its transitions (every
    // phase, not only those a filter selects) so that a new leader knows its last one.
    const notifiers = this.#options.notifiers().filter((n) => watches(n, resource));
    if (notifiers.length === 0) return;
    const time = this.#now();
    const runId = (resource.status as { run?: { id?: string } } | undefined)?.run?.id;
    const transition = { resource: keyOf(resource), run: runId ?? "", from, to };
    // Built with the previous phase the record holds (a new leader may not have seen it).
    const build = (recordedFrom: string | undefined) => {
      const change = { resource, from: recordedFrom, to, time };
      return notifiers.filter((n) => selects(n, change)).map((n) => payloadOf(n, change));
    };
    const { fresh, saved } = this.#outbox.add(transition, build);
    // Delivered once written; when the write fails, delivered anyway (at least once): the record
    // is written with the next write that succeeds.
    const deliver = () => {
      for (const payload of fresh) this.#track(this.#inOrder(payload));
    };
    this.#track(
      saved.then(deliver, (error: unknown) => {
        this.#options.log.warn(
          { resource: transition.resource, err: messageOf(error) },
          "notification not recorded; sending it anyway",
        );
        deliver();
      }),
    );
  }

  /** Resolves when every delivery started so far has ended (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /**
   * Lets deliveries under way finish for up to `graceMs` (a `run --once` that just saw a run succeed
   * still tells), then stops retrying; what is still pending is sent at the next start.
   */
  async close(graceMs = 2000): Promise<void> {
    const grace = new AbortController();
    await Promise.race([this.idle(), pause(graceMs, grace.signal)]);
    grace.abort();
    this.#stop.abort();
    await this.idle();
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch(() => undefined).finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** Delivers `payload` after the deliveries queued before it for the same notifier and resource. */
  #inOrder(payload: Payload): Promise<void> {
    const line = `${payload.notifier.namespace}/${payload.notifier.name}|${payload.kind}/${payload.namespace}/${payload.name}`;
    const previous = this.#lines.get(line) ?? Promise.resolve();
    const next = previous.then(() => this.#deliver(payload)).catch(() => undefined);
    this.#lines.set(line, next);
    void next.then(() => {
      if (this.#lines.get(line) === next) this.#lines.delete(line);
    });
    return next;
  }

  async #deliver(payload: Payload): Promise<void> {
    const { log } = this.#options;
    const notifier = nameOf(payload);
    const attempts = this.#options.maxAttempts ?? 8;
    for (let attempt = 0; attempt < attempts && !this.#stop.signal.aborted; attempt++) {
      if (attempt > 0)
        await pause(backoffDelay(attempt - 1, this.#options.curve ?? DEFAULT_CURVE), this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      const spec = this.#options
        .notifiers()
        .find(
          (n) =>
            n.metadata.namespace === payload.notifier.namespace && n.metadata.name === payload.notifier.name,
        );
      if (!spec) {
        log.info({ notifier }, "notification dropped: its Notifier is gone");
        await this.#outbox.done(payload, new Date());
        return;
      }
      let attemptResult: { outcome: "sent" | "retry" | "rejected"; detail: string };
      try {
        attemptResult = await this.#post(spec, payload, await credentialsOf(spec, this.#options));
      } catch (error) {
        // Not sent (a signed Notifier is never sent unsigned); the message names the field, file or
        // Secret, never what it holds.
        const reason = (error as { reason?: string }).reason ?? "Error";
        attemptResult = { outcome: "retry", detail: `${reason}: ${messageOf(error)}` };
      }
      const { outcome, detail } = attemptResult;
      if (outcome !== "retry") {
        notificationsTotal.inc({ notifier, result: outcome });
        if (outcome === "rejected")
          log.warn({ notifier, id: payload.id, detail }, "notification rejected by its receiver");
        await this.#outbox.done(payload, new Date());
        return;
      }
      notificationsTotal.inc({ notifier, result: "retried" });
      log.info({ notifier, id: payload.id, attempt: attempt + 1, detail }, "notification failed; retrying");
    }
    if (this.#stop.signal.aborted) return; // still pending: sent at the next start
    notificationsTotal.inc({ notifier, result: "failed" });
    log.warn({ notifier, id: payload.id, attempts }, "notification given up");
    await this.#outbox.done(payload, new Date());
  }

  async #post(
    notifier: Notifier,
    payload: Payload,
    { address, signingKey }: Credentials,
  ): Promise<{ outcome: "sent" | "retry" | "rejected"; detail: string }> {
    const body = Buffer.from(
      JSON.stringify(notifier.spec.type === "slack" ? slackMessage(payload) : payload),
      "utf8",
    );
    try {
      const res = await fetch(address, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "mlops-operator",
          ...(signingKey ? signatureHeaders(signingKey, body, this.#now()) : {}),
        },
        body,
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#options.timeoutMs ?? 10_000)]),
        redirect: "manual",
      });
      await res.arrayBuffer().catch(() => undefined);
      const detail = `HTTP ${res.status}`;
      if (res.ok) return { outcome: "sent", detail };
      if (res.status === 408 || res.status === 429 || res.status >= 500) return { outcome: "retry", detail };
      return { outcome: "rejected", detail };
    } catch (error) {
      // Only the error's kind: a fetch error's message or cause can name the address.
      const detail = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name ?? "error";
      return { outcome: "retry", detail };
    }
  }

  #now(): Date {
    return (this.#options.now ?? (() => new Date()))();
  }
}

const nameOf = (payload: Payload) => `${payload.notifier.namespace}/${payload.notifier.name}`;
