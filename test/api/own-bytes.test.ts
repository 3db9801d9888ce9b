import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ownBytes, ownCopy } from "../../src/api/own-bytes.ts";
import { writeText } from "../../src/sources/state/write-text.ts";

describe("bytes of their own", () => {
  it("ownBytes encodes UTF-8 into a buffer that is not a slice of Node's pool", () => {
    const text = `{"name":"tj-ü","note":"${"x".repeat(1500)}"}`;
    const pooled = Buffer.from(text);
    expect(pooled.buffer.byteLength).toBe(Buffer.poolSize); // the slab this module avoids
    const own = ownBytes(text);
    expect(own.toString("utf8")).toBe(text);
    expect(own.length).toBe(Buffer.byteLength(text));
    expect(own.byteOffset).toBe(0);
    expect(own.buffer.byteLength).toBe(own.length);
    expect(ownBytes("").length).toBe(0);
  });

  it("ownCopy copies a range into a buffer of its own, which later writes to the source leave alone", () => {
    const source = Buffer.from("abc\ndef-partial");
    const tail = ownCopy(source, 4);
    expect(tail.toString()).toBe("def-partial");
    expect(tail.byteOffset).toBe(0);
    expect(tail.buffer.byteLength).toBe(tail.length);
    source.fill(0x20);
    expect(tail.toString()).toBe("def-partial");
    expect(ownCopy(new Uint8Array([1, 2, 3, 4]), 1, 3)).toEqual(Buffer.from([2, 3]));
  });
});

describe("writeText", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mlops-write-text-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a string at a position and returns its length in bytes (UTF-8)", () => {
    const path = join(dir, "status.json");
    const fd = openSync(path, "w+");
    try {
      expect(writeText(fd, "0123456789", 0)).toBe(10);
      expect(writeText(fd, "ää", 0)).toBe(4);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(path, "utf8")).toBe("ää456789");
  });

  it("with no position, appends where an O_APPEND file ends", () => {
    const path = join(dir, "events.jsonl");
    for (const line of ["one\n", "twö\n"]) {
      const fd = openSync(path, "a");
      try {
        writeText(fd, line, null);
      } finally {
        closeSync(fd);
      }
    }
    expect(readFileSync(path, "utf8")).toBe("one\ntwö\n");
  });
});
