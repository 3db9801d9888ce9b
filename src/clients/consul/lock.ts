// A leader-election lock on Consul (Consul's "leader election" guide, as `consul lock` does it): a
// session with a TTL, and the key acquired with `?acquire=<session>`. Holding means: the session is
// renewed and the key still names it. Consul invalidates a session up to twice its TTL after the
// last renewal, so the TTL is half the lease duration (never below Consul's session_ttl_min,
// 10 s by default); the key is then free for others after the session's lock delay.
import { messageOf, OperatorError } from "../../api/errors.ts";
import type { ConsulClient } from "./client.ts";

export interface ConsulSessionLockOptions {
  readonly key: string;
  /** Who holds the lock, written as the key's value (hostname and pid, say). */
  readonly holder: string;
  /** The lease a follower waits out when the leader vanishes. */
  readonly leaseDurationMs: number;
  /** Consul's session_ttl_min (default 10 s). */
  readonly sessionTtlMinMs?: number;
  /** Lock delay of the session (default 0: the renew deadline already ends leadership first). */
  readonly lockDelayMs?: number;
}

export class ConsulSessionLock {
  readonly description: string;
  readonly ttlMs: number;
  readonly #client: ConsulClient;
  readonly #options: ConsulSessionLockOptions;
  #session: string | undefined;

  constructor(client: ConsulClient, options: ConsulSessionLockOptions) {
    this.#client = client;
    this.#options = options;
    this.ttlMs = Math.max(options.sessionTtlMinMs ?? 10_000, Math.ceil(options.leaseDurationMs / 2));
    this.description = `Consul lock ${options.key} (at ${client.baseUrl})`;
  }

  /** The session in use, if any. */
  get session(): string | undefined {
    return this.#session;
  }

  async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    if (this.#session !== undefined && !(await this.#client.renewSession(this.#session, signal))) {
      this.#session = undefined; // expired: Consul released the key; a new session campaigns again
    }
    this.#session ??= await this.#client.createSession(
      {
        Name: `mlops-operator leader ${this.#options.key}`,
        TTL: `${this.ttlMs}ms`,
        LockDelay: `${this.#options.lockDelayMs ?? 0}ms`,
        Behavior: "release",
      },
      signal,
    );
    return this.#client.kvPut(
      this.#options.key,
      { holder: this.#options.holder },
      {
        acquire: this.#session,
        signal,
      },
    );
  }

  /** Unlocks the key (no lock delay applies to a release), then destroys the session. */
  async release(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    const errors: string[] = [];
    await this.#client
      .kvPut(this.#options.key, { holder: "" }, { release: session })
      .catch((error: unknown) => errors.push(messageOf(error)));
    await this.#client.destroySession(session).catch((error: unknown) => errors.push(messageOf(error)));
    if (errors.length > 0)
      throw new OperatorError("ConsulError", `releasing ${this.description}: ${errors.join("; ")}`);
  }
}
