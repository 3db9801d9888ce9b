// A duration flag's help shows its default as a duration the flag reads back: `--timeout` said
// "(default: 300000)", milliseconds, while a bare number given to the flag is seconds, so a user who
// copied the default asked for 83 hours.
import type { Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/cli/flags.ts";
import { buildProgram } from "../../src/cli/program.ts";

function durationOptions(command: Command): { command: string; option: Option }[] {
  const own = command.options
    .filter((o) => o.flags.includes("<duration>"))
    .map((option) => ({ command: command.name(), option }));
  return [...own, ...command.commands.flatMap(durationOptions)];
}

describe("duration flags", () => {
  it("every default shows as a duration that reads back to the default itself", async () => {
    const options = durationOptions(await buildProgram());
    expect(options.map((o) => `${o.command} ${o.option.long}`)).toEqual(
      expect.arrayContaining([
        "run --timeout",
        "run --resync",
        "run --prune-settle",
        "plan --startup-timeout",
      ]),
    );
    for (const { command, option } of options) {
      const shown = option.defaultValueDescription ?? String(option.defaultValue);
      const value = option.defaultValue;
      // A default given as text (wait --timeout "30s") is parsed when read; a number is milliseconds.
      const ms = typeof value === "string" ? parseDuration(value) : value;
      expect(`${command} ${option.long}: ${shown} → ${parseDuration(shown)}`).toBe(
        `${command} ${option.long}: ${shown} → ${ms}`,
      );
      expect(shown, `${command} ${option.long}`).toMatch(/^\d+(ms|s|m|h)$/);
    }
  });

  it("run --help shows --timeout's default as 5m", async () => {
    const run = (await buildProgram("run")).commands.find((c) => c.name() === "run");
    expect(run?.helpInformation()).toMatch(
      /--timeout <duration>\s+with --once: give up after this long \(e\.g\. 90s, 5m\) \(default: 5m\)/,
    );
  });
});
