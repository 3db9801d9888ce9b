// A Nomad job's `where` (namespace/jobId) keys the register's own writes, the change feed's owned
// jobs and the read cache. Each is made again from every event of the job, and a map keeps the
// string it was first given: made within a short while of each other, they are one string, not one
// copy per map (docs/benchmarks.md, round 31).
import { describe, expect, it } from "vitest";
import { jobWhere } from "../../src/scheduler/nomad/meta.ts";
import { debugPrints } from "../api/v8-debug.ts";

describe("jobWhere", () => {
  it("gives the string it made lately for the same job, from strings of another parse", () => {
    const script = `
      const registered = jobWhere("team-a", "resnet-50");
      const event = JSON.parse('{"Namespace": "team-a", "ID": "resnet-50"}');
      const fromEvent = jobWhere(event.Namespace, event.ID);
      %DebugPrint(registered);
      %DebugPrint(fromEvent);
      for (let i = 0; i < 5000; i++) jobWhere("team-b", "job-" + i);
      %DebugPrint(jobWhere("team-a", "resnet-50"));`;
    const out = debugPrints({ "../../src/scheduler/nomad/meta.ts": "jobWhere" }, script);
    const addresses = [...out.matchAll(/^DebugPrint: (0x[0-9a-f]+)/gm)].map((m) => m[1]);
    expect(addresses).toHaveLength(3);
    expect(addresses[1]).toBe(addresses[0]);
    // Past the window, a string of its own, of the same value.
    expect(addresses[2]).not.toBe(addresses[0]);
    expect(out.match(/"team-a\/resnet-50"/g)).toHaveLength(3);
  });

  it("is namespace/jobId", () => {
    expect(jobWhere("default", "a/b")).toBe("default/a/b");
    expect(jobWhere("ns", "x")).toBe(jobWhere("ns", "x"));
  });
});
