// Decoders for Nomad's streaming bodies: newline-delimited JSON (event stream) and concatenated JSON
// stream frames `{"Offset":N,"Data":"<base64>","File":"..."}` (allocation logs; `{}` heartbeats).
import { ownCopy } from "../../api/own-bytes.ts";

/**
 * Splits a byte stream into complete lines; keeps the partial tail for the next chunk. Blank lines
 * are dropped unless `keepBlank` (log output keeps them). Bytes are split at each newline byte (which
 * never occurs inside a UTF-8 sequence) and each line is decoded from its own bytes: decoding a whole
 * chunk, joining the tail to it and splitting the text copied every event of the Nomad stream once
 * more (`queue-nomad`: 2,328 → 2,255 MB allocated; docs/benchmarks.md, Round 15). A `\r` that ended
 * a chunk inside a line is kept (it was taken for a line end's and dropped: a progress bar's output
 * in a log lost it).
 */
export class LineSplitter {
  readonly #keepBlank: boolean;
  /**
   * The bytes of a line not ended yet: copies (a chunk's memory is not ours to keep), each in a
   * buffer of its own (a pooled copy held a 64 KB slab until the next chunk came).
   */
  #tail: Buffer[] = [];
  /** Text pushed as strings (a caller that decoded itself) not ended by a newline yet. */
  #text = "";
  constructor(keepBlank = false) {
    this.#keepBlank = keepBlank;
  }
  push(chunk: Uint8Array | string): string[] {
    if (typeof chunk === "string") return this.#pushText(chunk);
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: string[] = [];
    let start = 0;
    for (let end = bytes.indexOf(10); end !== -1; end = bytes.indexOf(10, start)) {
      let line: string;
      if (this.#tail.length > 0) {
        this.#tail.push(bytes.subarray(start, end));
        line = Buffer.concat(this.#tail).toString("utf8");
        this.#tail = [];
      } else {
        line = bytes.toString("utf8", start, end);
      }
      if (this.#text !== "") {
        line = this.#text + line;
        this.#text = "";
      }
      this.#add(lines, line);
      start = end + 1;
    }
    if (start < bytes.length) this.#tail.push(ownCopy(bytes, start));
    return lines;
  }
  flush(): string[] {
    const rest = this.#text + (this.#tail.length > 0 ? Buffer.concat(this.#tail).toString("utf8") : "");
    this.#tail = [];
    this.#text = "";
    return rest.trim() === "" ? [] : [rest];
  }
  #pushText(text: string): string[] {
    if (this.#tail.length > 0) {
      this.#text += Buffer.concat(this.#tail).toString("utf8");
      this.#tail = [];
    }
    const pieces = (this.#text + text).split("\n");
    this.#text = pieces.pop() ?? "";
    const lines: string[] = [];
    for (const piece of pieces) this.#add(lines, piece);
    return lines;
  }
  #add(lines: string[], line: string): void {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (this.#keepBlank || text.trim() !== "") lines.push(text);
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
