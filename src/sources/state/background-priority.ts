// The state directory's writes at a lower CPU priority than the operator's loop. Status files and
// event logs are written behind the reconciles (write-behind.ts, events.ts): nothing the loop does
// waits for them. On a machine whose cores are all busy (a burst of runs on 2 cores) the state I/O
// worker and libuv's thread pool, where its data syncs run, otherwise took the core from the main
// thread as often as it from them. With both 10 below it (Linux's nice: ~9 to 1 in CFS's shares),
// `queue-nomad --slots 2` admitted 5 % more runs a second and registered a run after another's end
// at a median p50 of 17 ms instead of 29, p99 115 instead of 141 (docs/benchmarks.md, Round 20), for
// a few MB more held while records wait. On an idle core they run as before.
// libuv's pool is the process's: its other work (the generations journal's appends, the DNS lookup
// of a new connection to a server named by host name) runs there too, all of it off the loop's path.
// Linux gives each thread a nice value of its own (setpriority on a thread id); elsewhere nothing is
// changed. A priority is only ever lowered (raising one needs privileges the operator should not use).
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

/** How much lower than the process's own priority the state I/O threads run (nice steps). */
export const BACKGROUND_NICE_STEP = 10;
/** The lowest priority Linux has (nice 19). */
const LOWEST = 19;

/** Sets the calling thread `step` below the main thread; false where a thread's priority cannot be set. */
export function lowerThisThread(step = BACKGROUND_NICE_STEP): boolean {
  const tid = thisThreadId();
  return tid !== undefined && lower(tid, step);
}

/**
 * Sets each thread of this process named `name` (its /proc comm: a worker's `name`, `libuv-worker`
 * for libuv's pool) whose id is not in `lowered` `step` below the main thread, and adds it there.
 * Returns how many threads of that name there are now (0 where none is found or threads cannot be
 * listed).
 */
export function lowerThreadsNamed(name: string, lowered: Set<number>, step = BACKGROUND_NICE_STEP): number {
  let found = 0;
  for (const tid of threadIds()) {
    if (threadName(tid) !== name) continue;
    found++;
    if (lowered.has(tid)) continue;
    if (lower(tid, step)) lowered.add(tid);
  }
  return found;
}

/** The thread's nice value (for tests and diagnostics); undefined where it cannot be read. */
export function threadNice(tid: number): number | undefined {
  try {
    return getPriority(tid);
  } catch {
    return undefined;
  }
}

/** The calling thread's id (Linux: /proc/thread-self is `<pid>/task/<tid>`). */
export function thisThreadId(): number | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sets the thread `step` below the process's main thread (whose id is the process's), unless it is
 * that low already: a thread inherits its creator's priority (libuv's pool, started by the lowered
 * state I/O worker, begins there), and lowering it again would take it further down.
 */
function lower(tid: number, step: number): boolean {
  try {
    const target = Math.min(LOWEST, getPriority(process.pid) + step);
    if (getPriority(tid) < target) setPriority(tid, target);
    return true;
  } catch {
    return false; // gone meanwhile, or a system that refuses: it runs as it did
  }
}

function threadIds(): number[] {
  if (process.platform !== "linux") return [];
  try {
    return readdirSync("/proc/self/task")
      .map(Number)
      .filter((tid) => Number.isInteger(tid) && tid > 0);
  } catch {
    return [];
  }
}

function threadName(tid: number): string | undefined {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}
