// The JSON log destination writes each line before the log call returns: the lines an operator
// logged just before it was killed (SIGKILL, the OOM killer) are in its log, not lost in a buffer
// that the event loop would have written later.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

describe("JSON log lines", () => {
  it("are written when logged: a process killed right after keeps every line", () => {
    const script = `
      import { createLogger } from ${JSON.stringify(join(ROOT, "src/observability/logger.ts"))};
      const log = createLogger({ pretty: false, level: "info" });
      for (let i = 0; i < 200; i++) log.info({ i }, "line " + i);
      process.kill(process.pid, "SIGKILL");
    `;
    const r = spawnSync(
      join(ROOT, "node_modules/.bin/node"),
      ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", script],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(r.signal).toBe("SIGKILL");
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("{"));
    expect(lines).toHaveLength(200);
    expect(JSON.parse(lines[199] as string)).toMatchObject({ i: 199, msg: "line 199" });
  });
});
