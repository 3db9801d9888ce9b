// A leader-election lock on a coordination.k8s.io/v1 Lease, as client-go's resourcelock/leaselock.go
// and leaderelection.go tryAcquireOrRenew do it: read the Lease (create it when absent); another
// holder's lease counts as live until leaseDurationSeconds have passed on this replica's clock since
// the record last changed (no trust in other clocks); take or renew it with an update carrying the
// resourceVersion read, so of two candidates racing only one wins (the other gets a 409 Conflict).
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { messageOf } from "../../api/errors.ts";
import type { LeaseLock } from "../../controller/leader.ts";
import { KubernetesError, parseStatus } from "./api.ts";

export interface KubeLeaseLockOptions {
  readonly namespace: string;
  readonly name: string;
  /** This candidate's identity (hostname and a random suffix, as client-go's callers use). */
  readonly holder: string;
  readonly leaseDurationMs: number;
  /** Monotonic clock in milliseconds. Default performance.now. */
  readonly now?: () => number;
}

export class KubeLeaseLock implements LeaseLock {
  readonly description: string;
  readonly #api: CoordinationV1Api;
  readonly #options: KubeLeaseLockOptions;
  readonly #now: () => number;
  #observed: { record: string; at: number } | undefined;
  #last: V1Lease | undefined;

  constructor(config: KubeConfig, options: KubeLeaseLockOptions) {
    this.#api = config.makeApiClient(CoordinationV1Api);
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.description = `Lease ${options.namespace}/${options.name}`;
  }

  async tryAcquireOrRenew(_signal: AbortSignal): Promise<boolean> {
    const { namespace, name, holder } = this.#options;
    const now = new V1MicroTime();
    const seconds = Math.max(1, Math.ceil(this.#options.leaseDurationMs / 1000));
    let current: V1Lease;
    try {
      current = await this.#api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (codeOf(error) !== 404) throw this.#wrap("get", error);
      const spec = {
        holderIdentity: holder,
        leaseDurationSeconds: seconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      };
      try {
        this.#last = await this.#api.createNamespacedLease({
          namespace,
          body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace }, spec },
        });
        this.#observe(this.#last);
        return true;
      } catch (createError) {
        if (codeOf(createError) === 409) return false;
        throw this.#wrap("create", createError);
      }
    }
    this.#observe(current);
    const spec = current.spec ?? {};
    const held = spec.holderIdentity !== undefined && spec.holderIdentity !== "";
    const mine = spec.holderIdentity === holder;
    const durationMs = (spec.leaseDurationSeconds ?? seconds) * 1000;
    if (held && !mine && (this.#observed?.at ?? 0) + durationMs > this.#now()) return false;
    const next = {
      holderIdentity: holder,
      leaseDurationSeconds: seconds,
      acquireTime: mine && spec.acquireTime ? new V1MicroTime(spec.acquireTime) : now,
      renewTime: now,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
    try {
      this.#last = await this.#api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...current, spec: next },
      });
      this.#observe(this.#last);
      return true;
    } catch (error) {
      if (codeOf(error) === 409) return false;
      throw this.#wrap("update", error);
    }
  }

  /** client-go's release: the holder cleared, leaseDurationSeconds 1, so a follower takes over at once. */
  async release(): Promise<void> {
    const last = this.#last;
    if (!last || last.spec?.holderIdentity !== this.#options.holder) return;
    const now = new V1MicroTime();
    try {
      await this.#api.replaceNamespacedLease({
        name: this.#options.name,
        namespace: this.#options.namespace,
        body: {
          ...last,
          spec: { ...last.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now },
        },
      });
    } catch (error) {
      throw this.#wrap("release", error);
    } finally {
      this.#last = undefined;
    }
  }

  #observe(lease: V1Lease): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (this.#observed?.record !== record) this.#observed = { record, at: this.#now() };
  }

  #wrap(verb: string, error: unknown): KubernetesError {
    const code = codeOf(error);
    const status = parseStatus((error as { body?: unknown }).body);
    return new KubernetesError(
      code,
      status?.reason,
      `kubernetes: ${verb} ${this.description}: ${code ? `${code} ` : ""}${status?.message ?? messageOf(error).split("\n")[0]}`,
      error,
    );
  }
}

function codeOf(error: unknown): number {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === "number" ? value : 0;
}
