import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonObjectSplitter, LineSplitter, LogLineDecoder } from "../../src/clients/nomad/frames.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("Nomad stream framing", () => {
  it("splits ndjson across chunks, skipping blank lines, with UTF-8 cut between chunks", () => {
    const splitter = new LineSplitter();
    const data = bytes('{"Index":1,"Events":[{"Key":"é"}]}\n\n{}\n{"Index":2');
    const cut = data.indexOf(0xc3) + 1; // inside the two-byte "é"
    expect(splitter.push(data.subarray(0, cut))).toEqual([]);
    expect(splitter.push(data.subarray(cut))).toEqual(['{"Index":1,"Events":[{"Key":"é"}]}', "{}"]);
    expect(splitter.push(bytes("}\n"))).toEqual(['{"Index":2}']);
    expect(splitter.flush()).toEqual([]);
  });

  it("gives the lines of any text however its bytes are cut: multi-byte characters, CRLF, blank lines", () => {
    const line = fc.array(fc.constantFrom("a", "{", '"', "é", "→", "😀", " ", "\r"), { maxLength: 12 });
    fc.assert(
      fc.property(
        fc.array(
          line.map((l) => l.join("")),
          { maxLength: 8 },
        ),
        fc.array(fc.nat(200), { maxLength: 6 }),
        fc.boolean(),
        (lines, cuts, keepBlank) => {
          const text = lines.map((l) => `${l}\n`).join("");
          const data = bytes(`${text}tail`);
          const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
          const splitter = new LineSplitter(keepBlank);
          const out: string[] = [];
          let start = 0;
          for (const cut of [...at, data.length]) {
            out.push(...splitter.push(data.subarray(start, cut))); // views into one buffer, at offsets
            start = cut;
          }
          out.push(...splitter.flush());
          const expected = lines
            .map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l))
            .filter((l) => keepBlank || l.trim() !== "");
          expect(out).toEqual([...expected, "tail"]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("keeps the order of text pushed as strings and as bytes", () => {
    const splitter = new LineSplitter();
    expect(splitter.push("ab")).toEqual([]);
    expect(splitter.push(bytes("c\nd"))).toEqual(["abc"]);
    expect(splitter.push("e\nf")).toEqual(["de"]);
    expect(splitter.push(bytes("g\n"))).toEqual(["fg"]);
  });

  it("splits concatenated JSON objects, braces inside strings included", () => {
    const splitter = new JsonObjectSplitter();
    expect(splitter.push('{"a":"}{"}{"b":')).toEqual([{ a: "}{" }]);
    expect(splitter.push('{"c":1}}{}')).toEqual([{ b: { c: 1 } }, {}]);
  });

  it.each<[string, string[], string[]]>([
    ["one frame", ["epoch 1\nepoch 2\n"], ["epoch 1", "epoch 2"]],
    ["a line across frames", ["epo", "ch 1\n"], ["epoch 1"]],
    ["blank lines kept", ["a\n\nb\n"], ["a", "", "b"]],
    ["multi-byte character across frames", ["loss ", "→ 0.1\n"], ["loss → 0.1"]],
  ])("decodes base64 log frames: %s", (_name, pieces, expected) => {
    const decoder = new LogLineDecoder();
    const raw = Buffer.concat(pieces.map((p) => Buffer.from(p)));
    // Re-cut the raw bytes at the piece boundaries, but move one cut inside "→" when there is one.
    const arrow = raw.indexOf(Buffer.from("→"));
    const cuts =
      arrow >= 0
        ? [arrow + 1]
        : pieces.slice(0, -1).map((_, i) => Buffer.from(pieces.slice(0, i + 1).join("")).length);
    const frames: Buffer[] = [];
    let start = 0;
    for (const cut of [...cuts, raw.length]) {
      frames.push(raw.subarray(start, cut));
      start = cut;
    }
    const wire = frames.map((f, i) =>
      JSON.stringify({ Offset: i, Data: f.toString("base64"), File: "alloc/logs/main.stdout.0" }),
    );
    const body = `{}${wire.join("")}{}`;
    const lines = [
      ...decoder.push(bytes(body.slice(0, 7))),
      ...decoder.push(bytes(body.slice(7))),
      ...decoder.flush(),
    ];
    expect(lines).toEqual(expected);
  });
});
