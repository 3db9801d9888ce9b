// Server: Consul 1.20.2, hashicorp/consul. Follows: agent/checks/check.go (CheckHTTP).
// Optional execution of registered HTTP checks, as a Consul agent does: GET the check's URL every
// Interval (bounded by Timeout, default 10 s); 2xx is passing, 429 warning, anything else or no answer
// critical, with Consul's output format. Off by default; a stand-in stack turns it on.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { type ConsulState, parseDuration } from "./state.ts";
import type { CheckStatus } from "./types.ts";

export class HttpCheckRunner {
  readonly #state: ConsulState;
  readonly #timers = new Map<string, { url: string; timer: NodeJS.Timeout }>();
  #sync: NodeJS.Timeout | undefined;

  constructor(state: ConsulState, syncEveryMs = 500) {
    this.#state = state;
    this.#sync = setInterval(() => this.sync(), syncEveryMs);
    this.#sync.unref();
  }

  /** Starts timers for new HTTP checks and stops those of removed ones. */
  sync(): void {
    const seen = new Set<string>();
    for (const { check, definition } of this.#state.checkDefinitions()) {
      if (!definition.HTTP) continue;
      seen.add(check.CheckID);
      const existing = this.#timers.get(check.CheckID);
      if (existing?.url === definition.HTTP) continue;
      if (existing) clearInterval(existing.timer);
      const interval = Math.max(100, parseDuration(definition.Interval ?? "10s") || 10_000);
      const timeout = parseDuration(definition.Timeout ?? "") || 10_000;
      const url = definition.HTTP;
      const run = (): void => {
        void probe(url, definition.Method ?? "GET", timeout).then(([status, output]) =>
          this.#state.updateCheck(check.CheckID, status, output),
        );
      };
      const timer = setInterval(run, interval);
      timer.unref();
      this.#timers.set(check.CheckID, { url, timer });
      run();
    }
    for (const [id, { timer }] of this.#timers) {
      if (!seen.has(id)) {
        clearInterval(timer);
        this.#timers.delete(id);
      }
    }
  }

  close(): void {
    if (this.#sync) clearInterval(this.#sync);
    this.#sync = undefined;
    for (const { timer } of this.#timers.values()) clearInterval(timer);
    this.#timers.clear();
  }
}

/** One HTTP check: resolves with the status and Consul-style output; never rejects. */
export function probe(url: string, method: string, timeoutMs: number): Promise<[CheckStatus, string]> {
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve(["critical", `Get "${url}": invalid URL`]);
      return;
    }
    const send = parsed.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(parsed, {
      method,
      timeout: timeoutMs,
      headers: { "user-agent": "Consul Health Check" },
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on("end", () => {
        const code = res.statusCode ?? 0;
        const status: CheckStatus =
          code >= 200 && code < 300 ? "passing" : code === 429 ? "warning" : "critical";
        resolve([
          status,
          `HTTP ${method} ${url}: ${code} ${res.statusMessage ?? ""} Output: ${body.slice(0, 4096)}`,
        ]);
      });
      res.on("error", (error) => resolve(["critical", `${method} "${url}": ${error.message}`]));
    });
    req.on("timeout", () => {
      req.destroy(new Error(`context deadline exceeded (Client.Timeout exceeded while awaiting headers)`));
    });
    req.on("error", (error) => resolve(["critical", `${method} "${url}": ${error.message}`]));
    req.end();
  });
}
