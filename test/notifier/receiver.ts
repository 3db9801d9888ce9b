// A webhook receiver on loopback for the notifier tests: records each request (path, headers, the
// exact body bytes) and answers with the next of `answers` (default 204), after `delayMs`.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
  readonly body: string;
}

export interface Receiver {
  /** http://127.0.0.1:PORT (append the path the test wants). */
  readonly base: string;
  readonly received: Received[];
  /** Status codes for the next requests, in order. */
  readonly answers: number[];
  delayMs: number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const answers: number[] = [];
  const receiver: Receiver = {
    base: "",
    received,
    answers,
    delayMs: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      received.push({ path: req.url ?? "", headers: req.headers, raw, body: raw.toString("utf8") });
      setTimeout(() => res.writeHead(answers.shift() ?? 204).end(), receiver.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(receiver, { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}
