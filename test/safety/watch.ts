// What the outage suites watch while something is down: the operator's /healthz, /metrics and
// /readyz (every probe must answer within a second), the TrainingJob status files (a recorded
// phase must never flip), the Nomad jobs (none may disappear) and the log rate.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Sample {
  readonly at: number;
  readonly healthz: number;
  readonly metrics: number;
  readonly readyz: number;
  readonly readyzBody: string;
  /** Probes (healthz, metrics, readyz) that took longer than a second or failed. */
  readonly slow: number;
}

async function get(url: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: await res.text(), ms: performance.now() - t0 };
  } catch {
    return { status: 0, body: "", ms: performance.now() - t0 };
  }
}

export async function sample(base: string): Promise<Sample> {
  const [healthz, metrics, readyz] = await Promise.all([
    get(`${base}/healthz`),
    get(`${base}/metrics`),
    get(`${base}/readyz`),
  ]);
  const slow = [healthz, metrics, readyz].filter((r) => r.status === 0 || r.ms > 1_000).length;
  return {
    at: Date.now(),
    healthz: healthz.status,
    metrics: metrics.status,
    readyz: readyz.status,
    readyzBody: readyz.body,
    slow,
  };
}

/** Phase of every TrainingJob status file (name → phase); unreadable files are named "torn". */
export function phases(stateDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const dir = join(stateDir, "status", "trainingjob", "default");
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return out;
  }
  for (const file of files) {
    try {
      const record = JSON.parse(readFileSync(join(dir, file), "utf8")) as { status?: { phase?: string } };
      out.set(file.replace(/\.json$/, ""), record.status?.phase ?? "none");
    } catch {
      out.set(file.replace(/\.json$/, ""), "torn");
    }
  }
  return out;
}

/** Samples every `everyMs` until stop(); collects what a suite asserts on. */
export function watch(base: string, stateDir: string, everyMs = 250) {
  const samples: Sample[] = [];
  const flips: string[] = [];
  let running = true;
  const before = phases(stateDir);
  const loop = (async () => {
    while (running) {
      samples.push(await sample(base));
      for (const [name, phase] of phases(stateDir)) {
        const was = before.get(name);
        if (was !== undefined && phase !== was) flips.push(`${name}: ${was} → ${phase}`);
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    samples,
    flips,
    async stop() {
      running = false;
      await loop;
      return { samples, flips };
    },
  };
}
