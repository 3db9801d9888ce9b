// When this operator lost the Docker engine and got it back, as its event stream saw it: the stream
// ends when the engine shuts down (its API closes before it stops the containers) and connects again
// once it is back (a crashed engine stops the containers it finds alive when it starts again). A
// replica that exited non-zero within such a window was stopped by the engine's restart, not by its
// code. An outage the operator did not see (it was down too) is not known here.

/** Windows kept: the newest, enough for any restart a run's attempts could still be classifying. */
const KEPT = 32;
/** Clock slack between the operator and the engine, each side of a window (ms). */
const SLACK_MS = 1_000;

export interface Outage {
  /** Epoch ms the stream was lost. */
  readonly from: number;
  /** Epoch ms it was back; absent while it is still away. */
  readonly to?: number;
}

export class EngineOutages {
  readonly #windows: Outage[] = [];

  lost(at: number): void {
    const open = this.#windows.at(-1);
    if (open && open.to === undefined) return;
    this.#windows.push({ from: at });
    if (this.#windows.length > KEPT) this.#windows.shift();
  }

  back(at: number): void {
    const open = this.#windows.at(-1);
    if (open && open.to === undefined) this.#windows[this.#windows.length - 1] = { from: open.from, to: at };
  }

  /** The outage an exit at `finishedAt` (ISO time) falls in, if any. */
  covering(finishedAt: string | undefined): Outage | undefined {
    const at = Date.parse(finishedAt ?? "");
    if (Number.isNaN(at)) return undefined;
    return this.#windows.find(
      (w) => at >= w.from - SLACK_MS && (w.to === undefined || at <= w.to + SLACK_MS),
    );
  }
}
