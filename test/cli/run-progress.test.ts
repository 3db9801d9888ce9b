// What `run` says while it works: phase transitions against the recorded status (a rerun with
// nothing changed logs none), the table once no TrainingJob is unfinished, and the give-up of
// `run --once` when a scheduler stays unreachable.
import { Writable } from "node:stream";
import { Subject } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type AnyResource, keyOf, type ResourceKey } from "../../src/api/resources.ts";
import { anyUnfinished, Progress } from "../../src/cli/run-progress.ts";
import { observedWriter } from "../../src/cli/status-hooks.ts";
import { addressOrigin, type Timers, UnreachableWatch } from "../../src/cli/unreachable.ts";
import type { ErrorReport } from "../../src/controller/controller.ts";
import { createLogger, silentLogger } from "../../src/observability/logger.ts";
import { writingSource } from "../controller/writing-source.ts";

function job(name: string, phase?: string): AnyResource {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace: "default" },
    spec: { image: "trainer:dev" },
    ...(phase ? { status: { phase } } : {}),
  } as unknown as AnyResource;
}

/** `count` TrainingJobs j0… in phase `phaseOf(i)`, behind an index that counts the jobs it reads. */
function countingIndex(count: number, phaseOf: (i: number) => string) {
  const jobs = new Map<ResourceKey, AnyResource>();
  for (let i = 0; i < count; i++) {
    const j = job(`j${i}`, phaseOf(i));
    jobs.set(keyOf(j), j);
  }
  const counter = { reads: 0 };
  const set = (i: number, phase: string) => {
    (jobs.get(`TrainingJob/default/j${i}` as ResourceKey) as { status?: unknown }).status = { phase };
  };
  const index = {
    get: (key: ResourceKey) => {
      counter.reads++;
      return jobs.get(key);
    },
    list: () => {
      counter.reads += jobs.size;
      return [...jobs.values()];
    },
  };
  return { counter, set, index };
}

describe("phase transitions", () => {
  function recorder() {
    const seen: string[] = [];
    const writer = observedWriter(writingSource(), new Subject<ResourceKey>(), (r, from, to) =>
      seen.push(`${r.metadata.name}: ${from ?? "New"} → ${to}`),
    );
    return { seen, writer };
  }

  it("a resource recorded as Running and still Running logs nothing (a rerun after a restart)", async () => {
    const { seen, writer } = recorder();
    const a = job("a", "Running");
    await writer.write(a, { phase: "Running" } as never);
    await writer.write(a, { phase: "Running" } as never);
    expect(seen).toEqual([]);
  });

  it("transitions are logged from the recorded phase, once each", async () => {
    const { seen, writer } = recorder();
    const a = job("a", "Running");
    await writer.write(a, { phase: "Succeeded" } as never);
    await writer.write(a, { phase: "Succeeded" } as never);
    const b = job("b");
    await writer.write(b, { phase: "Pending" } as never);
    await writer.write(b, { phase: "Running" } as never);
    expect(seen).toEqual(["a: Running → Succeeded", "b: New → Pending", "b: Pending → Running"]);
  });
});

describe("the line per phase change", () => {
  it("names the resource, both phases and the first condition's message; other lines stay redacted", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    const log = createLogger({ destination, pretty: false, level: "info" });
    const running = job("a", "Running");
    (running as { status?: unknown }).status = {
      phase: "Running",
      conditions: [{ type: "Ready", message: "1 of 1 replicas running" }],
    };
    new Progress(log).phase(running, "Pending", "Running");
    new Progress(log).phase(job("b"), undefined, "Queued");
    log.info({ token: "tok-LEAK", headers: { authorization: "Bearer LEAK" } }, "a request");
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      parsed.map(({ level, name, resource, from, to, msg }) => ({ level, name, resource, from, to, msg })),
    ).toEqual([
      {
        level: 30,
        name: "mlops-operator",
        resource: "TrainingJob/default/a",
        from: "Pending",
        to: "Running",
        msg: "default/a: Pending → Running (1 of 1 replicas running)",
      },
      {
        level: 30,
        name: "mlops-operator",
        resource: "TrainingJob/default/b",
        from: "New",
        to: "Queued",
        msg: "default/b: New → Queued",
      },
      { level: 30, name: "mlops-operator", msg: "a request" },
    ]);
    expect(lines.join("\n")).not.toContain("LEAK");
  });
});

describe("the table once every TrainingJob has finished", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("calls back once after the last unfinished job finishes, reading one job per check meanwhile", () => {
    vi.useFakeTimers();
    const { counter, set, index } = countingIndex(1000, (i) => (i < 998 ? "Succeeded" : "Running"));
    const progress = new Progress(silentLogger());
    progress.unfinished = anyUnfinished(index);
    let calls = 0;
    progress.onAllFinished = () => calls++;
    const finish = (i: number) => {
      set(i, "Succeeded");
      progress.phase(job(`j${i}`, "Succeeded"), "Running", "Succeeded");
    };

    progress.phase(job("j0"), "Running", "Succeeded");
    vi.advanceTimersByTime(100);
    expect(calls).toBe(0); // j998 and j999 still run
    counter.reads = 0;
    for (let i = 0; i < 5; i++) {
      progress.phase(job("j1"), "Running", "Succeeded");
      vi.advanceTimersByTime(100);
    }
    expect(counter.reads).toBe(5); // a job found unfinished last is read again, not all 1,000
    finish(998);
    vi.advanceTimersByTime(100);
    expect(calls).toBe(0);
    finish(999);
    vi.advanceTimersByTime(100);
    expect(calls).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(calls).toBe(1);
  });
});

describe("whether any TrainingJob is unfinished", () => {
  it.each([
    ["in the order they are listed", (i: number) => i],
    ["in the reverse order", (i: number, n: number) => n - 1 - i],
  ])("runs finishing one per check %s: O(jobs) reads in all, not per check", (_name, nth) => {
    const n = 1000;
    const { counter, set, index: resources } = countingIndex(n, () => "Running");
    const unfinished = anyUnfinished(resources);
    for (let i = 0; i < n; i++) {
      expect(unfinished()).toBe(true);
      set(nth(i, n), "Succeeded");
    }
    expect(unfinished()).toBe(false);
    expect(counter.reads).toBeLessThanOrEqual(4 * n); // a full read of every job per check: ~n²/2
  });

  it("a job that runs again after its check found it finished is found by the next full read", () => {
    const { set, index: resources } = countingIndex(3, () => "Running");
    const unfinished = anyUnfinished(resources);
    expect(unfinished()).toBe(true);
    set(0, "Succeeded");
    set(1, "Succeeded");
    set(2, "Succeeded");
    expect(unfinished()).toBe(false);
    set(1, "Pending"); // a new generation
    expect(unfinished()).toBe(true);
    set(1, "Failed");
    expect(unfinished()).toBe(false);
  });
});

describe("run --once gives up on an unreachable scheduler", () => {
  function fakeTimers() {
    const pending = new Map<number, () => void>();
    let next = 0;
    const timers: Timers = {
      set: (callback) => {
        pending.set(++next, callback);
        return next;
      },
      clear: (handle) => pending.delete(handle as number),
    };
    const fire = () => {
      const callbacks = [...pending.values()];
      pending.clear();
      for (const callback of callbacks) callback();
    };
    return { timers, pending, fire };
  }
  const report = (key: string, reason: string, message = `${reason} at http://nomad:4646`): ErrorReport =>
    ({ key, reason, message, terminal: false, retryInMs: 750, error: new Error(message) }) as ErrorReport;

  it("after the window, while some key still cannot reach its scheduler", async () => {
    const { timers, pending, fire } = fakeTimers();
    const watch = new UnreachableWatch(30_000, timers);
    let gaveUp: ErrorReport | undefined;
    void watch.gaveUp.then((r) => {
      gaveUp = r;
    });
    watch.failed(report("TrainingJob/default/a", "NomadUnavailable"));
    watch.failed(report("TrainingJob/default/a", "NomadUnavailable"));
    expect(pending.size).toBe(1);
    fire();
    await Promise.resolve();
    expect(gaveUp?.key).toBe("TrainingJob/default/a");
  });

  it("not when the scheduler answered again within the window", async () => {
    const { timers, pending } = fakeTimers();
    const watch = new UnreachableWatch(30_000, timers);
    watch.failed(report("TrainingJob/default/a", "NomadUnavailable"));
    watch.succeeded("TrainingJob/default/a" as ResourceKey);
    expect(pending.size).toBe(0);
  });

  it("not for errors that are about the resource, not the scheduler", () => {
    const { timers, pending } = fakeTimers();
    const watch = new UnreachableWatch(30_000, timers);
    watch.failed(report("TrainingJob/default/a", "InvalidSpec"));
    watch.failed(report("TrainingJob/default/b", "ImageNotFound"));
    expect(pending.size).toBe(0);
  });

  it.each([
    [
      { nomadFlag: "http://10.0.0.5:4646", env: {} },
      "Nomad at http://10.0.0.5:4646 is unreachable",
      "set by --nomad-addr",
    ],
    [
      { env: { NOMAD_ADDR: "http://nomad:4646" } },
      "Nomad at http://nomad:4646 is unreachable",
      "set by NOMAD_ADDR",
    ],
    [
      { env: { DOCKER_HOST: "tcp://127.0.0.1:2375" } },
      "Docker engine tcp://127.0.0.1:2375 is unreachable",
      "DOCKER_HOST=tcp://127.0.0.1:2375",
    ],
    [
      { env: {} },
      "Docker engine local is unreachable",
      "the local engine at /var/run/docker.sock (DOCKER_HOST unset)",
    ],
    [{ env: {} }, "Nomad at http://172.20.0.20:4646 is unreachable", "an MlopsStack's Nomad (spec.stackRef)"],
  ])("names the setting behind the address (%#)", (settings, message, origin) => {
    expect(addressOrigin(message, settings as never)).toBe(origin);
  });
});
