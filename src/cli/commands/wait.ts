// `mlopsctl wait tj|ms NAME --for=condition=Ready|--for=phase=Succeeded|--for=delete [--timeout 30s]`,
// kubectl wait's semantics: exit 0 when met, 1 on a timeout or when the run ended in a phase that
// can no longer meet it (the reason printed). On a terminal, one status line rewrites itself (phase,
// Ready, replicas, elapsed); elsewhere a plain line per change. It follows the state directory, or
// in Kubernetes mode (a Kubernetes context, or --kubeconfig) the API (list, then watch).

import type { Command } from "commander";
import { kindChoices, kindInfo } from "../../api/kinds.ts";
import { DEFAULT_NAMESPACE, makeKey } from "../../api/resources.ts";
import { line, printable } from "../../observability/printable.ts";
import { readRecord, type StatusRecord, watchRecords } from "../../sources/state/index.ts";
import { EXIT, ExitError } from "../exit.ts";
import { flagValue, parseDuration } from "../flags.ts";
import { untilInterrupted } from "../interrupt.ts";
import type { KubeTarget } from "../kube-read.ts";
import { humanDuration } from "../output.ts";
import { paint, REWRITE, styleOf, type TerminalStyle } from "../terminal.ts";
import { describeWaitFor, judge, parseWaitFor, summarize } from "../wait-condition.ts";
import {
  kindArgument,
  kubeTargetOf,
  nameArgument,
  type StateOptions,
  stateDirOf,
  withStateOptions,
} from "./get.ts";

export interface WaitOptions extends StateOptions {
  for?: string;
  timeout?: string;
  /** Kubernetes mode: follow the API through this kubeconfig file. */
  kubeconfig?: string;
}

export interface WaitIo {
  readonly signal: AbortSignal;
  readonly out: (text: string) => void;
  /** Progress: the live line, or plain lines. */
  readonly err: (text: string) => void;
  readonly style: TerminalStyle;
  readonly pollMs?: number;
}

const PHASE_COLOUR: Record<string, "green" | "yellow" | "red"> = {
  Running: "green",
  Succeeded: "green",
  Pending: "yellow",
  Suspended: "yellow",
  Failed: "red",
};

/** Waits; returns when met, throws ExitError(failed) on a timeout or an impossible wait. */
export async function waitFor(
  kindAlias: string,
  name: string,
  options: WaitOptions,
  io: WaitIo,
): Promise<void> {
  const kind = kindArgument(kindAlias);
  if (!options.for)
    throw new ExitError(EXIT.usage, "wait needs --for (condition=Ready, phase=Succeeded or delete)");
  const want = parseWaitFor(options.for, kind);
  const timeoutMs = flagValue("--timeout <duration>", options.timeout ?? "30s", parseDuration);
  const namespace = nameArgument(options.namespace ?? DEFAULT_NAMESPACE, "namespace");
  const key = makeKey(kind, namespace, nameArgument(name));
  const kube = kubeTargetOf(options);
  const stateDir = kube ? "" : stateDirOf(options);
  const what = `${kindInfo(kind).plural}/${name}`;
  const started = Date.now();

  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const signal = AbortSignal.any([io.signal, deadline.signal]);
  let record: StatusRecord | undefined;
  let shown = "";
  const show = (final = false) => {
    const summary = summarize(record);
    const phase = typeof record?.status?.phase === "string" ? record.status.phase : "";
    const coloured = phase
      ? summary.replace(phase, paint(io.style, PHASE_COLOUR[phase] ?? "yellow", phase))
      : summary;
    const elapsed = humanDuration(Date.now() - started);
    if (io.style.live) {
      io.err(`${REWRITE}${printable(`${what}  `)}${coloured}  ${elapsed}${final ? "\n" : ""}`);
    } else if (summary !== shown) {
      io.err(line(`${what}  ${summary}  ${elapsed}`));
    }
    shown = summary;
  };
  const ticker = io.style.live ? setInterval(() => show(), 1000) : undefined;
  try {
    const verdict = () => {
      const v = judge(record, want);
      if (v.met) return true;
      if (v.impossible) {
        throw new ExitError(
          EXIT.failed,
          `${what}: ${describeWaitFor(want)} can no longer be met: ${v.impossible}`,
        );
      }
      return false;
    };
    const states = kube
      ? kubeStates(kube, kind, namespace, name, signal)
      : directoryStates(stateDir, key, signal, io.pollMs);
    for await (const state of states) {
      record = state;
      show();
      if (verdict()) return finish();
    }
    if (io.style.live) io.err("\n");
    if (io.signal.aborted) return;
    throw new ExitError(EXIT.failed, `timed out waiting for ${describeWaitFor(want)} on ${what}`);
  } finally {
    clearTimeout(timer);
    if (ticker) clearInterval(ticker);
  }

  function finish(): void {
    if (io.style.live) show(true);
    const met = want.on === "delete" ? "deleted" : "condition met";
    io.out(line(`${kindInfo(kind).singular}.mlops.dev/${name} ${met}`));
  }
}

/** The resource's record now (undefined: none), then after each change, from the state directory. */
async function* directoryStates(
  stateDir: string,
  key: ReturnType<typeof makeKey>,
  signal: AbortSignal,
  pollMs: number | undefined,
): AsyncGenerator<StatusRecord | undefined> {
  const first = await readRecord(stateDir, key);
  yield first;
  const [kind, namespace, name] = key.split("/") as [StatusRecord["kind"], string, string];
  const events = watchRecords(stateDir, first ? [first] : [], {
    kind,
    namespace,
    signal,
    ...(pollMs ? { pollMs } : {}),
  });
  for await (const event of events) {
    if (event.record.metadata.name !== name) continue;
    yield event.type === "DELETED" ? undefined : event.record;
  }
}

/** The same from the Kubernetes API: the object in the first list, then each change to it. */
async function* kubeStates(
  target: KubeTarget,
  kind: StatusRecord["kind"],
  namespace: string,
  name: string,
  signal: AbortSignal,
): AsyncGenerator<StatusRecord | undefined> {
  const { watchKube } = await import("../kube-watch.ts");
  const { recordOf } = await import("../kube-read.ts");
  const pending: (StatusRecord | undefined)[] = [];
  let wake: (() => void) | undefined;
  const push = (state: StatusRecord | undefined) => {
    pending.push(state);
    wake?.();
  };
  let ended = false;
  let failure: unknown;
  // Ends the watch when the caller stops reading (the wait was met), not only on its signal.
  const stop = new AbortController();
  const following = watchKube(
    { kind, namespace, target, signal: AbortSignal.any([signal, stop.signal]) },
    {
      listed: (objects) => {
        const found = objects.find((o) => o.metadata.name === name);
        push(found ? recordOf(kind, found) : undefined);
      },
      changed: (type, object) => {
        if (object.metadata.name === name) push(type === "DELETED" ? undefined : recordOf(kind, object));
      },
    },
  ).then(
    () => {
      ended = true;
      wake?.();
    },
    (error: unknown) => {
      failure = error;
      ended = true;
      wake?.();
    },
  );
  try {
    for (;;) {
      while (pending.length > 0) yield pending.shift();
      if (failure !== undefined) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    stop.abort();
    await following;
  }
}

export function registerWait(program: Command): void {
  withStateOptions(
    program
      .command("wait")
      .description("wait until a resource meets a condition or phase (kubectl wait's exit codes)")
      .argument("<kind>", kindChoices())
      .argument("<name>", "the resource"),
  )
    .requiredOption("--for <condition>", "condition=Ready, condition=Ready=False, phase=Succeeded or delete")
    .option("--timeout <duration>", "how long to wait (for example 90s, 10m)", "30s")
    .option(
      "--kubeconfig <file>",
      "follow the Kubernetes API through this kubeconfig (a Kubernetes context does so without it)",
    )
    .action(async (kind: string, name: string, options: WaitOptions) => {
      await untilInterrupted((signal) =>
        waitFor(kind, name, options, {
          signal,
          out: (text) => process.stdout.write(text),
          err: (text) => process.stderr.write(text),
          style: styleOf(process.stderr),
        }),
      );
    });
}
