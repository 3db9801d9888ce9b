// The text exposition parser the direct scrape uses: what the example trainer and prom-client write.
import { describe, expect, it } from "vitest";
import { parseExposition } from "../../src/clients/prometheus/index.ts";

describe("parseExposition", () => {
  it.each([
    [
      "a labelled gauge",
      'mlops_training_progress_ratio{rank="0"} 0.4000',
      [{ __name__: "mlops_training_progress_ratio", rank: "0" }, 0.4],
    ],
    [
      "no labels, a timestamp",
      "mlops_training_epoch 3 1700000000000",
      [{ __name__: "mlops_training_epoch" }, 3],
    ],
    ["escaped label values", 'm{a="x\\"y",b="1\\\\2",} 1', [{ __name__: "m", a: 'x"y', b: "1\\2" }, 1]],
    ["+Inf", "m +Inf", [{ __name__: "m" }, Number.POSITIVE_INFINITY]],
  ])("%s", (_, line, [metric, value]) => {
    const [sample] = parseExposition(`# HELP m help\n# TYPE m gauge\n\n${line}\n`, "x");
    expect(sample?.metric).toEqual(metric);
    expect(sample?.value).toBe(value);
  });

  it("keeps only the names asked for", () => {
    const text = 'a 1\nb{x="1"} 2\nc 3\n';
    expect(parseExposition(text, "x", new Set(["b"])).map((s) => s.value)).toEqual([2]);
  });

  it.each([
    ["not a sample", "what is this line", "10.0.0.5:8000/metrics:2: not a sample line"],
    ["no number", "m abc", "10.0.0.5:8000/metrics:2: m has no numeric value"],
    ["broken labels", 'm{a="1" b} 1', "10.0.0.5:8000/metrics:2: malformed labels"],
  ])("rejects %s, naming where", (_, line, message) => {
    expect(() => parseExposition(`ok 1\n${line}\n`, "10.0.0.5:8000/metrics")).toThrow(message);
  });
});
