import { afterEach, describe, expect, it, vi } from "vitest";
import { peakRssLine } from "../../bench/lib/operator.ts";
import { passCount, runPasses } from "../../bench/lib/passes.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a benchmark's --repeat passes", () => {
  it("runs the passes one after another, in order, and announces each when there are several", async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((text) => {
      written.push(String(text));
      return true;
    });
    const events: string[] = [];
    let n = 0;
    const results = await runPasses(
      3,
      async () => {
        const i = ++n;
        events.push(`start ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`end ${i}`);
        return i * 10;
      },
      () => "bundled build (dist/)",
    );
    expect(results).toEqual([10, 20, 30]);
    expect(events).toEqual(["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
    expect(written).toEqual(["-- pass 1 of 3\n", "\n-- pass 2 of 3\n", "\n-- pass 3 of 3\n"]);
  });

  it("says nothing about passes when there is one", async () => {
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    expect(
      await runPasses(
        1,
        async () => "only",
        () => "bundled build (dist/)",
      ),
    ).toEqual(["only"]);
    expect(write).not.toHaveBeenCalled();
  });

  it("says when the operator's build changed during a pass, and that passes of two builds do not compare", async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((text) => {
      written.push(String(text));
      return true;
    });
    // An edit under src/ during pass 2: dist/ is older from then on.
    let edited = false;
    const build = () => (edited ? "TypeScript sources (src/)" : "bundled build (dist/)");
    await runPasses(
      3,
      async (i) => {
        if (i === 2) edited = true;
        return i;
      },
      build,
    );
    const warnings = written.filter((line) => line.startsWith("warning:"));
    expect(warnings).toEqual([
      "warning: the operator's build changed during pass 2 (the bundled build (dist/) at its start, the TypeScript sources (src/) at its end): its operators may have run either\n",
      "warning: the passes did not all run one build (bundled build (dist/); TypeScript sources (src/)): their figures do not compare\n",
    ]);
  });

  it("takes a whole number of passes and refuses anything else, naming the benchmark", () => {
    expect(passCount("converge-nomad", "4")).toBe(4);
    const errors: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((text) => {
      errors.push(String(text));
      return true;
    });
    const exit = vi.spyOn(process, "exit").mockImplementation((code) => {
      throw new Error(`exit ${code}`);
    });
    for (const bad of ["0", "-1", "1.5", "x", undefined]) {
      expect(() => passCount("converge-nomad", bad)).toThrow("exit 2");
    }
    expect(exit).toHaveBeenCalledTimes(5);
    expect(errors[3]).toBe("converge-nomad: --repeat must be a whole number of passes >= 1, not 'x'\n");
  });
});

describe("what a peak RSS was made of", () => {
  const MB = 1048576;
  it("splits the anonymous pages into V8's spaces and what lies outside the heap", () => {
    const line = peakRssLine({
      rssBytes: 170 * MB,
      fileBytes: 52 * MB,
      anonBytes: 118 * MB,
      spaces: {
        new: { size: 16 * MB, used: 3 * MB },
        new_large_object: { size: 1 * MB, used: 1 * MB },
        old: { size: 62 * MB, used: 61 * MB },
        large_object: { size: 12 * MB, used: 12 * MB },
        code: { size: 4 * MB, used: 3 * MB },
        trusted: { size: 4 * MB, used: 3 * MB },
        read_only: { size: 1 * MB, used: 1 * MB },
      },
      external: 12 * MB,
      arrayBuffers: 9 * MB,
    });
    expect(line).toBe(
      "170.0 MB: file-backed 52.0, anonymous 118.0 = V8's heap 100.0 (committed/used: young 17.0/4.0, " +
        "old 62.0/61.0, large objects 12.0/12.0, code, trusted, read-only 9.0/7.0) + 18.0 outside it (ArrayBuffers 9.0)",
    );
  });

  it("says n/a when the process reported no peak", () => {
    expect(peakRssLine(undefined)).toBe("n/a");
  });
});
