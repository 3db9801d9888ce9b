// Decoders for Nomad's streaming bodies: newline-delimited JSON (event stream) and concatenated JSON
// stream frames `{"Offset":N,"Data":"<base64>","File":"..."}` (allocation logs; `{}` heartbeats).

/**
 * Splits a byte stream into complete lines; keeps the partial tail (and a UTF-8 sequence cut between
 * chunks) for the next chunk. Blank lines are dropped unless `keepBlank` (log output keeps them).
 */
export class LineSplitter {
  readonly #decoder = new TextDecoder();
  readonly #keepBlank: boolean;
  #tail = "";
  constructor(keepBlank = false) {
    this.#keepBlank = keepBlank;
  }
  push(chunk: Uint8Array | string): string[] {
    const text =
      this.#tail + (typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true }));
    const lines = text.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
    this.#tail = lines.pop() ?? "";
    return this.#keepBlank ? lines : lines.filter((line) => line.trim() !== "");
  }
  flush(): string[] {
    const rest = this.#tail + this.#decoder.decode();
    this.#tail = "";
    return rest.trim() === "" ? [] : [rest];
  }
}

/** Splits concatenated JSON objects (no separator guaranteed) into complete objects. */
export class JsonObjectSplitter {
  #buffer = "";
  push(chunk: string): unknown[] {
    this.#buffer += chunk;
    const out: unknown[] = [];
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = -1;
    let consumed = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const c = this.#buffer[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{") {
        if (depth === 0) start = i;
        depth++;
      } else if (c === "}") {
        depth--;
        if (depth === 0 && start >= 0) {
          out.push(JSON.parse(this.#buffer.slice(start, i + 1)));
          consumed = i + 1;
          start = -1;
        }
      }
    }
    this.#buffer = this.#buffer.slice(consumed);
    return out;
  }
}

export interface StreamFrame {
  Offset?: number;
  Data?: string;
  File?: string;
  FileEvent?: string;
}

/** Turns log frames into text lines (base64 Data decoded; heartbeats and file events skipped). */
export class LogLineDecoder {
  readonly #objects = new JsonObjectSplitter();
  readonly #lines = new LineSplitter(true);
  readonly #text = new TextDecoder();
  push(chunk: Uint8Array | string): string[] {
    const lines: string[] = [];
    const text = typeof chunk === "string" ? chunk : this.#text.decode(chunk, { stream: true });
    for (const frame of this.#objects.push(text) as StreamFrame[]) {
      if (!frame.Data) continue;
      lines.push(...this.#lines.push(Buffer.from(frame.Data, "base64")));
    }
    return lines;
  }
  flush(): string[] {
    return this.#lines.flush();
  }
}
