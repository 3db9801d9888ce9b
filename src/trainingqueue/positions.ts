// When a waiting run's written position is written again. Each admission moves every run behind
// it up by one, so writing each moved position each time costs one status write per waiting run
// per admission: n²/2 writes to drain a queue of n (500,000 for 1,000 runs; on Kubernetes, one
// status PATCH each). Kueue left the position out of its Workloads' status for this reason
// (kubernetes-sigs/kueue#168) and serves it on demand. Here the first EXACT_POSITIONS of a queue
// are kept exact, the runs that will be admitted next; further back a position is written again
// once it is off by a tenth of what the status says, so a status is never off by more than that
// and a run is written about log₁.₁(n / EXACT_POSITIONS) times while it waits, not n times.

/** Positions 1 to this are written whenever they change. */
export const EXACT_POSITIONS = 10;

/**
 * Whether a waiting run whose status says `written` (undefined: no position) is to be written
 * again now that its place is `now` (undefined: it has none, as a run that can never fit).
 */
export function positionStale(written: number | undefined, now: number | undefined): boolean {
  if (written === now) return false;
  if (written === undefined || now === undefined) return true;
  if (written <= EXACT_POSITIONS || now <= EXACT_POSITIONS) return true;
  return Math.abs(written - now) * 10 >= written;
}
