// The Nomad double in its own process (so CPU measured on the operator is the operator's alone),
// with the benchmark's namespaces; and what a benchmark reads from it: its job list and event stream.
import { request } from "node:http";
import { type DoubleProcess, startDouble } from "./doubles.ts";
import { NAMESPACES } from "./jobs.ts";

export type NomadProcess = DoubleProcess;

export function startNomad(options: { autoRun?: boolean } = {}): Promise<NomadProcess> {
  return startDouble("nomad", [
    ...NAMESPACES.flatMap((ns) => ["--namespace", ns]),
    ...(options.autoRun ? ["--auto-run"] : []),
  ]);
}

/** GET a JSON document from the double (loopback, 30 s limit). */
export function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`GET ${url}: ${res.statusCode}: ${text}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** Number of jobs the double holds, all namespaces. */
export async function jobCount(address: string): Promise<number> {
  return (await getJson<unknown[]>(`${address}/v1/jobs?namespace=*`)).length;
}

export interface JobEvent {
  readonly type: string;
  readonly namespace: string;
  readonly id: string;
  readonly meta: Record<string, string>;
  /** process.hrtime.bigint() when the frame arrived (CLOCK_MONOTONIC: comparable across processes). */
  readonly at: bigint;
}

/** Follows /v1/event/stream?topic=Job:*&namespace=* and calls `onEvent` per Job event; returns a stop. */
export function followJobEvents(address: string, onEvent: (event: JobEvent) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request(`${address}/v1/event/stream?topic=Job:*&namespace=*`, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`event stream: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      let rest = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const at = process.hrtime.bigint();
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.trim()) continue;
          const frame = JSON.parse(line) as {
            Events?: {
              Type: string;
              Namespace: string;
              Key: string;
              Payload: { Job?: { Meta?: Record<string, string> } };
            }[];
          };
          for (const e of frame.Events ?? []) {
            onEvent({ type: e.Type, namespace: e.Namespace, id: e.Key, meta: e.Payload.Job?.Meta ?? {}, at });
          }
        }
      });
      res.on("error", () => undefined);
      resolve(() => req.destroy());
    });
    req.on("error", reject);
    req.end();
  });
}
