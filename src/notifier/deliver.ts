// Delivery of TrainingJob phase changes to the Notifiers that select them: an HTTP POST of the JSON
// payload (or, for type slack, a Slack message) per (notifier, resource, run, transition), in the background (a reconcile never waits),
// retried with backoff on network errors, timeouts, 408, 429 and 5xx; other 4xx answers are final.
// The address comes from spec.address or a file under --secrets-dir and is never logged.
import type { Logger } from "pino";
import { type BackoffCurve, backoffDelay, pause } from "../api/backoff.ts";
import { messageOf } from "../api/errors.ts";
import type { AnyResource, Notifier } from "../api/resources.ts";
import { notificationsTotal } from "../observability/metrics.ts";
import { readFileRef } from "../secrets/index.ts";
import type { Outbox } from "./outbox.ts";
import { type Payload, payloadOf, selects } from "./select.ts";
import { slackMessage } from "./slack.ts";

export interface NotificationsOptions {
  readonly outbox: Outbox;
  /** The Notifiers declared now. */
  readonly notifiers: () => readonly Notifier[];
  readonly secretsDir?: string;
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

  constructor(options: NotificationsOptions) {
    this.#options = options;
  }

  /** Sends again what a previous run recorded as pending. */
  resume(): void {
    for (const payload of this.#options.outbox.pending()) this.#track(this.#deliver(payload));
  }

  /** A TrainingJob's phase changed: queue one notification per Notifier that selects it; returns at once. */
  phaseChanged(resource: AnyResource, from: string | undefined, to: string | undefined): void {
    const change = { resource, from, to, time: (this.#options.now ?? (() => new Date()))() };
    for (const notifier of this.#options.notifiers()) {
      if (!selects(notifier, change)) continue;
      const payload = payloadOf(notifier, change);
      this.#track(
        this.#options.outbox.offer(payload).then(
          (fresh) => (fresh ? this.#deliver(payload) : undefined),
          (error: unknown) =>
            this.#options.log.warn(
              { notifier: nameOf(payload), err: messageOf(error) },
              "notification not recorded",
            ),
        ),
      );
    }
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
        await this.#options.outbox.done(payload.id, new Date());
        return;
      }
      let outcome: "sent" | "retry" | "rejected";
      let detail: string;
      try {
        const address = await this.#address(spec);
        const body = JSON.stringify(spec.spec.type === "slack" ? slackMessage(payload) : payload);
        const res = await fetch(address, {
          method: "POST",
          headers: { "Content-Type": "application/json", "User-Agent": "mlops-operator" },
          body,
          signal: AbortSignal.any([
            this.#stop.signal,
            AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
          ]),
          redirect: "manual",
        });
        await res.arrayBuffer().catch(() => undefined);
        detail = `HTTP ${res.status}`;
        if (res.ok) outcome = "sent";
        else if (res.status === 408 || res.status === 429 || res.status >= 500) outcome = "retry";
        else outcome = "rejected";
      } catch (error) {
        outcome = "retry";
        // Only the error's kind: a fetch error's message or cause can name the address.
        detail = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name ?? "error";
      }
      if (outcome !== "retry") {
        notificationsTotal.inc({ notifier, result: outcome });
        if (outcome === "rejected")
          log.warn({ notifier, id: payload.id, detail }, "notification rejected by its receiver");
        await this.#options.outbox.done(payload.id, new Date());
        return;
      }
      notificationsTotal.inc({ notifier, result: "retried" });
      log.info({ notifier, id: payload.id, attempt: attempt + 1, detail }, "notification failed; retrying");
    }
    if (this.#stop.signal.aborted) return; // still pending: sent at the next start
    notificationsTotal.inc({ notifier, result: "failed" });
    log.warn({ notifier, id: payload.id, attempts }, "notification given up");
    await this.#options.outbox.done(payload.id, new Date());
  }

  async #address(notifier: Notifier): Promise<string> {
    if (notifier.spec.address) return notifier.spec.address;
    const where = `Notifier ${notifier.metadata.namespace}/${notifier.metadata.name} spec.addressFile`;
    if (!this.#options.secretsDir) throw new Error(`${where}: the operator has no --secrets-dir`);
    return (
      await readFileRef(this.#options.secretsDir, { path: notifier.spec.addressFile ?? "" }, where)
    ).trim();
  }
}

const nameOf = (payload: Payload) => `${payload.notifier.namespace}/${payload.notifier.name}`;
