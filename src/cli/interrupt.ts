// Long-running commands (get -w, wait) end on Ctrl-C: SIGINT aborts their signal, and the command
// exits 130 (128 + SIGINT, as a shell reports a process SIGINT ended) after it stopped cleanly.

export async function untilInterrupted(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  try {
    await work(controller.signal);
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
  if (controller.signal.aborted) process.exitCode = INTERRUPTED;
}

export const INTERRUPTED = 130;
