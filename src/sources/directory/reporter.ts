// Says what the directory source's reads decided about pruning: each unreadable entry (with the
// prunes it holds back), each prune (what and why), each retained resource, a held-back mass prune.
// Logs and events; each unreadable set and mass prune is told once, not on every read.
import type { Logger } from "pino";
import type { ResourceKey } from "../../api/resources.ts";
import type { Recorder } from "../../controller/reconcile.ts";
import { sourcePrunesHeldBack } from "../../observability/metrics.ts";
import { formatLocated, type LocatedIssue } from "../yaml/index.ts";
import { IGNORE_FILE } from "./ignore-file.ts";
import { describeAbsence, type MassPruneBlock, type MassPruneLimits } from "./prune.ts";
import type { FullReadOutcome, PruneDecision, ResourceTable } from "./table.ts";

export interface PruneReporterOptions {
  log?: Logger | undefined;
  recorder?: Recorder | undefined;
  /** File name as shown in messages (relative to the tree). */
  display(file: string): string;
  /** `--prune=false` was given. */
  pruneOff: boolean;
  mass: MassPruneLimits;
}

export class PruneReporter {
  readonly #options: PruneReporterOptions;
  #toldUnreadable = "";
  #toldMass = "";

  constructor(options: PruneReporterOptions) {
    this.#options = options;
  }

  /** Names each unreadable entry (log, and an event on every prune it holds back), once per change. */
  unreadable(unreadable: readonly LocatedIssue[], missing: readonly ResourceKey[]): void {
    const told = unreadable.map((u) => `${u.file}\0${u.message}`).join("\n");
    if (told === this.#toldUnreadable) return;
    this.#toldUnreadable = told;
    const { log, recorder } = this.#options;
    for (const issue of unreadable) {
      const where = formatLocated({ ...issue, file: this.#options.display(issue.file) });
      log?.warn(
        { file: issue.file, reason: issue.message },
        `${where}: nothing is pruned until it is fixed or listed in ${IGNORE_FILE}`,
      );
      for (const key of missing) recorder?.event(key, "Warning", "PruneBlocked", `not pruned: ${where}`);
    }
  }

  /** The first read's log lines: what was found, and why nothing may be pruned. */
  summary(dir: string, exists: boolean, table: ResourceTable, skipped: number, revision?: string): void {
    const log = this.#options.log;
    if (!log) return;
    if (!exists) log.warn({ dir }, "directory does not exist: nothing read, nothing pruned");
    else if (!table.hasResources())
      log.warn({ dir }, `no mlops.dev resources found${this.#options.mass.allow ? "" : ": nothing pruned"}`);
    const broken = table.brokenFiles().length;
    if (broken > 0)
      log.warn({ files: broken }, "files fail to parse or validate: nothing pruned until they are fixed");
    const duplicates = table.duplicates().length;
    if (duplicates > 0) log.warn({ keys: duplicates }, "resources defined in more than one file");
    if (skipped > 0)
      log.info({ documents: skipped }, "skipped documents of other API groups (not mlops.dev)");
    log.info({ dir, resources: table.keys().size, revision }, "directory read");
  }

  /** Prunes made, retained and held back by a full read; `blocked`: prunes unreadable entries hold back. */
  outcome(outcome: FullReadOutcome, blocked: number): void {
    const { log, recorder } = this.#options;
    sourcePrunesHeldBack.set({ reason: "MassPrune" }, outcome.massBlocked?.keys.length ?? 0);
    sourcePrunesHeldBack.set({ reason: "Unreadable" }, blocked);
    const file = (d: PruneDecision) => (d.file ? ` (last in ${this.#options.display(d.file)})` : "");
    for (const d of outcome.pruned) {
      const why = `no file declares it${file(d)}: ${describeAbsence(d.first, d.second)}`;
      log?.info({ resource: d.key, first: d.first.seq, second: d.second.seq }, `pruning ${d.key}: ${why}`);
      recorder?.event(d.key, "Normal", "Pruned", `its objects are removed: ${why}`);
    }
    for (const d of outcome.retained) {
      const why = this.#options.pruneOff ? "--prune=false" : "annotation mlops.dev/prune: disabled";
      log?.info({ resource: d.key }, `not pruning ${d.key} (${why}): its file is gone, its objects are kept`);
      recorder?.event(d.key, "Normal", "PruneDisabled", `no file declares it; objects kept (${why})`);
    }
    const mass = outcome.massBlocked;
    const told = mass ? mass.keys.join(",") : "";
    if (told === this.#toldMass) return;
    this.#toldMass = told;
    if (!mass) return;
    const message = massPruneMessage(mass, this.#options.mass);
    log?.warn({ resources: mass.keys.length, total: mass.total }, message);
    for (const key of mass.keys) recorder?.event(key, "Warning", "MassPruneBlocked", message);
  }
}

export function massPruneMessage(block: MassPruneBlock, limits: MassPruneLimits): string {
  const count = block.keys.length;
  const what = block.emptied
    ? `no file declares any mlops.dev resource any more: all ${count} would be pruned (an emptied directory is what a failed checkout or an unmounted volume looks like)`
    : `${count} of ${block.total} resources would be pruned at once (more than ${limits.maxCount} and more than ${limits.maxFraction * 100} %)`;
  return `mass prune held back: ${what}; nothing is pruned, objects are kept; restore the files or run with --allow-mass-prune`;
}
