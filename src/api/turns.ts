// How long the operator's main thread may run one stretch of synchronous work before it lets the
// event loop poll for I/O (the Nomad event stream, servers' answers, /healthz, timers): workers
// taking keys whose reconciles await nothing (controller/workqueue.ts), a full read of a directory.
export const TURN_BUDGET_MS = 10;

/** The real clock and setImmediate, whatever a test fakes later: a yield must end. */
export const realNow = performance.now.bind(performance);
export const realSetImmediate = setImmediate;

export interface TurnBudget {
  /** Whether TURN_BUDGET_MS have passed since the stretch began (or since the last yield). */
  spent(): boolean;
  /** Lets the loop poll for I/O (a setImmediate runs after the poll phase), then starts a new stretch. */
  yield(): Promise<void>;
}

/** A budget for one loop of work: `if (budget.spent()) await budget.yield();` between items. */
export function turnBudget(ms = TURN_BUDGET_MS): TurnBudget {
  let since = realNow();
  return {
    spent: () => realNow() - since >= ms,
    async yield() {
      await new Promise((resolve) => realSetImmediate(resolve));
      since = realNow();
    },
  };
}
