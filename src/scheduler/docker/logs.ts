// A run's output, line by line: the demultiplexed stdout and stderr of each replica's container.
// Without follow, each replica's whole log in turn; with follow, the replicas' lines as they come
// (prefixed with the replica when there is more than one), until every stream ends or the signal aborts.

import type { DockerConnection } from "../../clients/docker/connect.ts";
import { LogDemuxer, type LogLine } from "../../clients/docker/demux.ts";
import type { LogOptions } from "../port.ts";

export interface LogTarget {
  readonly id: string;
  readonly name: string;
  readonly replica: number;
}

type Closable = NodeJS.ReadableStream & { destroy(): void };

export async function* logLines(
  conn: DockerConnection,
  targets: readonly LogTarget[],
  options: LogOptions,
): AsyncGenerator<string> {
  const label = (t: LogTarget, l: LogLine): string =>
    targets.length > 1 ? `[replica ${t.replica}] ${l.line}` : l.line;
  if (!options.follow) {
    for (const t of targets) {
      const payload = await conn.call(
        "/containers/:id/logs",
        `reading the logs of container ${t.name}`,
        (d) => d.getContainer(t.id).logs({ stdout: true, stderr: true, follow: false }),
      );
      const demux = new LogDemuxer();
      for (const l of [...demux.push(Buffer.from(payload as unknown as Buffer)), ...demux.flush()])
        yield label(t, l);
    }
    return;
  }

  const queue: string[] = [];
  let open = targets.length;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const streams: Closable[] = [];
  const closeAll = (): void => {
    for (const s of streams) s.destroy();
  };
  options.signal?.addEventListener("abort", closeAll, { once: true });
  try {
    for (const t of targets) {
      const stream = (await conn.call(
        "/containers/:id/logs",
        `following the logs of container ${t.name}`,
        (d) =>
          d.getContainer(t.id).logs({
            stdout: true,
            stderr: true,
            follow: true,
            ...(options.signal ? { abortSignal: options.signal } : {}),
          }),
      )) as unknown as Closable;
      streams.push(stream);
      const demux = new LogDemuxer();
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        for (const l of demux.flush()) queue.push(label(t, l));
        open -= 1;
        notify();
      };
      stream.on("data", (chunk: Buffer) => {
        for (const l of demux.push(chunk)) queue.push(label(t, l));
        notify();
      });
      stream.on("end", end);
      stream.on("close", end);
      stream.on("error", (error: unknown) => {
        if (!options.signal?.aborted) failure = error;
        end();
      });
    }
    while (open > 0 || queue.length > 0) {
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (options.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (failure !== undefined) throw failure;
  } finally {
    options.signal?.removeEventListener("abort", closeAll);
    closeAll();
  }
}
