// Docker's multiplexed log stream (containers without a TTY): frames of an 8-byte header
// [stream, 0, 0, 0, size (uint32 big-endian)] followed by `size` bytes; stream 1 is stdout, 2 stderr.
// Fed arbitrary chunks, yields whole lines per stream (a line may span frames and chunks).

export type LogStream = "stdout" | "stderr";

export interface LogLine {
  readonly stream: LogStream;
  readonly line: string;
}

export class LogDemuxer {
  #pending: Buffer = Buffer.alloc(0);
  readonly #partial: Record<LogStream, string> = { stdout: "", stderr: "" };

  /** Consumes a chunk; returns the lines it completes. */
  push(chunk: Buffer): LogLine[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const lines: LogLine[] = [];
    while (this.#pending.length >= 8) {
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + size) break;
      const stream: LogStream = this.#pending[0] === 2 ? "stderr" : "stdout";
      const text = this.#partial[stream] + this.#pending.subarray(8, 8 + size).toString("utf8");
      this.#pending = this.#pending.subarray(8 + size);
      const parts = text.split("\n");
      this.#partial[stream] = parts.pop() ?? "";
      for (const line of parts) lines.push({ stream, line: line.replace(/\r$/, "") });
    }
    return lines;
  }

  /** The unterminated last lines, at the end of the stream. */
  flush(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.#partial[stream] !== "") lines.push({ stream, line: this.#partial[stream] });
      this.#partial[stream] = "";
    }
    return lines;
  }
}
