// Server: Consul 1.20.2, hashicorp/consul. Follows: agent/session_endpoint.go (create defaults:
// LockDelay 15 s, Behavior release; FixupLockDelay: a number below 1000 is seconds),
// agent/consul/session_endpoint.go (TTL between session_ttl_min, 10 s by default, and 24 h),
// agent/consul/session_ttl.go (a TTL session is invalidated SessionTTLMultiplier = 2 times its TTL
// after its last renewal), agent/consul/state/session.go (an invalidated session with Behavior
// release frees its keys and starts their lock delay), agent/consul/state/kvs.go (kvsLockTxn,
// kvsUnlockTxn, CAS on ModifyIndex, LockIndex), agent/consul/kvs_endpoint.go (an acquire inside a
// key's lock delay answers false), agent/kv_endpoint.go (GET 404 with an empty body, base64 values;
// a PUT body over kv_max_value_size, 512 KiB by default, answers 413 before anything is written).
// The Consul double's sessions and key/value store, enough for a session lock.
import { randomUUID } from "node:crypto";
import { ConsulDoubleError, parseDuration } from "./state.ts";

export interface Session {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: "release" | "delete";
  TTL: string;
  NodeChecks: string[];
  CreateIndex: number;
  ModifyIndex: number;
}

export interface KvEntry {
  Key: string;
  Value: string | null;
  Flags: number;
  LockIndex: number;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const SESSION_TTL_MAX_MS = 24 * 3_600_000;
const TTL_MULTIPLIER = 2;

export class SessionStore {
  readonly #sessions = new Map<string, { session: Session; timer?: NodeJS.Timeout }>();
  readonly #kv = new Map<string, KvEntry>();
  readonly #lockDelayUntil = new Map<string, number>();
  readonly #ttlMinMs: number;
  readonly #node: string;
  readonly kvMaxValueSize: number;
  #index = 1;

  constructor(options: { node: string; ttlMinMs?: number; kvMaxValueSize?: number }) {
    this.#node = options.node;
    this.kvMaxValueSize = options.kvMaxValueSize ?? 512 * 1024;
    this.#ttlMinMs = options.ttlMinMs ?? 10_000;
  }

  /** PUT /v1/session/create */
  create(body: Record<string, unknown> | undefined): Session {
    const ttl = typeof body?.TTL === "string" ? body.TTL : "";
    let ttlMs = 0;
    if (ttl !== "") {
      ttlMs = parseDuration(ttl);
      if (Number.isNaN(ttlMs)) throw new ConsulDoubleError(500, `Session TTL '${ttl}' invalid`);
      if (ttlMs !== 0 && (ttlMs < this.#ttlMinMs || ttlMs > SESSION_TTL_MAX_MS)) {
        throw new ConsulDoubleError(
          500,
          `Invalid Session TTL '${ttlMs * 1e6}', must be between [${this.#ttlMinMs / 1000}s=24h0m0s]`,
        );
      }
    }
    const behavior = body?.Behavior ?? "release";
    if (behavior !== "release" && behavior !== "delete") {
      throw new ConsulDoubleError(500, `Invalid Behavior setting '${String(behavior)}'`);
    }
    const index = ++this.#index;
    const session: Session = {
      ID: randomUUID(),
      Name: typeof body?.Name === "string" ? body.Name : "",
      Node: this.#node,
      LockDelay: lockDelayMs(body?.LockDelay) * 1e6,
      Behavior: behavior,
      TTL: ttl,
      NodeChecks: ["serfHealth"],
      CreateIndex: index,
      ModifyIndex: index,
    };
    this.#sessions.set(session.ID, { session });
    this.#arm(session.ID, ttlMs);
    return session;
  }

  /** PUT /v1/session/renew/:id; undefined when unknown (404). */
  renew(id: string): Session | undefined {
    const entry = this.#sessions.get(id);
    if (!entry) return undefined;
    this.#arm(id, entry.session.TTL ? parseDuration(entry.session.TTL) : 0);
    return entry.session;
  }

  /** PUT /v1/session/destroy/:id (also what TTL expiry does). */
  destroy(id: string): void {
    const entry = this.#sessions.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#sessions.delete(id);
    const now = Date.now();
    const delayMs = Math.min(entry.session.LockDelay / 1e6, 60_000);
    for (const [key, kv] of this.#kv) {
      if (kv.Session !== id) continue;
      const index = ++this.#index;
      if (entry.session.Behavior === "delete") this.#kv.delete(key);
      else this.#kv.set(key, { ...unlocked(kv), ModifyIndex: index });
      if (delayMs > 0) this.#lockDelayUntil.set(key, now + delayMs);
    }
  }

  session(id: string): Session | undefined {
    return this.#sessions.get(id)?.session;
  }

  get(key: string): KvEntry | undefined {
    const entry = this.#kv.get(key);
    if (!entry) return undefined;
    return entry;
  }

  /** Every entry held, for a test to look for what a client wrote. */
  entries(): KvEntry[] {
    return [...this.#kv.values()];
  }

  /** PUT /v1/kv/:key with ?acquire=, ?release= or ?cas=; the boolean Consul answers. */
  put(key: string, value: string, query: { acquire?: string; release?: string; cas?: number }): boolean {
    const existing = this.#kv.get(key);
    if (query.cas !== undefined) {
      if (query.cas === 0 ? existing !== undefined : existing?.ModifyIndex !== query.cas) return false;
    }
    const encoded = Buffer.from(value).toString("base64");
    if (query.acquire !== undefined) {
      if (!this.#sessions.has(query.acquire)) {
        throw new ConsulDoubleError(500, `invalid session "${query.acquire}"`);
      }
      if ((this.#lockDelayUntil.get(key) ?? 0) > Date.now()) return false;
      if (existing?.Session && existing.Session !== query.acquire) return false;
      const index = ++this.#index;
      const lockIndex = (existing?.LockIndex ?? 0) + (existing?.Session === query.acquire ? 0 : 1);
      this.#kv.set(key, {
        Key: key,
        Value: encoded,
        Flags: 0,
        LockIndex: lockIndex,
        Session: query.acquire,
        CreateIndex: existing?.CreateIndex ?? index,
        ModifyIndex: index,
      });
      return true;
    }
    if (query.release !== undefined) {
      if (!existing || existing.Session !== query.release) return false;
      const index = ++this.#index;
      this.#kv.set(key, { ...unlocked(existing), Value: encoded, ModifyIndex: index });
      return true;
    }
    const index = ++this.#index;
    this.#kv.set(key, {
      Key: key,
      Value: encoded,
      Flags: 0,
      LockIndex: existing?.LockIndex ?? 0,
      ...(existing?.Session ? { Session: existing.Session } : {}),
      CreateIndex: existing?.CreateIndex ?? index,
      ModifyIndex: index,
    });
    return true;
  }

  close(): void {
    for (const entry of this.#sessions.values()) clearTimeout(entry.timer);
  }

  #arm(id: string, ttlMs: number): void {
    const entry = this.#sessions.get(id);
    if (!entry || ttlMs === 0) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.destroy(id), ttlMs * TTL_MULTIPLIER);
    entry.timer.unref();
  }
}

function unlocked(entry: KvEntry): KvEntry {
  const { Session: _held, ...rest } = entry;
  return rest;
}

/** agent/session_endpoint.go FixupLockDelay: absent → 15 s; a number below 1000 → seconds, else ns. */
function lockDelayMs(value: unknown): number {
  if (value === undefined || value === null) return 15_000;
  if (typeof value === "number") return value < 1000 ? value * 1000 : value / 1e6;
  if (typeof value === "string") {
    const ms = parseDuration(value);
    if (Number.isNaN(ms))
      throw new ConsulDoubleError(400, `Request decode failed: invalid LockDelay "${value}"`);
    return ms;
  }
  throw new ConsulDoubleError(400, "Request decode failed: invalid LockDelay");
}

export interface SessionRoute {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

/** The /v1/session/* and /v1/kv/* routes; undefined for other paths. */
export function routeSessions(
  store: SessionStore,
  req: SessionRoute,
): { status: number; body?: unknown; text?: string } | undefined {
  const { method, path, query } = req;
  try {
    if (path === "/v1/session/create") {
      if (method !== "PUT") return { status: 405, text: `method ${method} not allowed` };
      return { status: 200, body: { ID: store.create(req.body as Record<string, unknown>).ID } };
    }
    let m = /^\/v1\/session\/renew\/(.+)$/.exec(path);
    if (m && method === "PUT") {
      const id = decodeURIComponent(m[1] as string);
      const session = store.renew(id);
      return session
        ? { status: 200, body: [session] }
        : { status: 404, text: `Session id '${id}' not found` };
    }
    m = /^\/v1\/session\/destroy\/(.+)$/.exec(path);
    if (m && method === "PUT") {
      store.destroy(decodeURIComponent(m[1] as string));
      return { status: 200, body: true };
    }
    m = /^\/v1\/session\/info\/(.+)$/.exec(path);
    if (m && method === "GET") {
      const session = store.session(decodeURIComponent(m[1] as string));
      return { status: 200, body: session ? [session] : [] };
    }
    m = /^\/v1\/kv\/(.+)$/.exec(path);
    if (m) {
      const key = decodeURIComponent(m[1] as string);
      if (method === "GET") {
        const entry = store.get(key);
        return entry ? { status: 200, body: [entry] } : { status: 404, text: "" };
      }
      if (method === "PUT") {
        const cas = query.get("cas");
        if (cas !== null && !/^\d+$/.test(cas)) return { status: 400, text: "Invalid CAS index" };
        const flags = {
          ...(query.has("acquire") ? { acquire: query.get("acquire") as string } : {}),
          ...(query.has("release") ? { release: query.get("release") as string } : {}),
          ...(cas !== null ? { cas: Number(cas) } : {}),
        };
        const value = typeof req.body === "string" ? req.body : "";
        const length = Buffer.byteLength(value, "utf8");
        if (length > store.kvMaxValueSize) {
          return {
            status: 413,
            text: `Request body(${length} bytes) too large, max size: ${store.kvMaxValueSize} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
          };
        }
        return { status: 200, body: store.put(key, value, flags) };
      }
      return { status: 405, text: `method ${method} not allowed` };
    }
    if (path.startsWith("/v1/session/")) return { status: 405, text: `method ${method} not allowed` };
    return undefined;
  } catch (error) {
    if (error instanceof ConsulDoubleError) return { status: error.status, text: error.message };
    throw error;
  }
}
