// The prunes `mlopsctl plan` shows: what run would delete, what it keeps (prune disabled), and what
// it holds back (an unreadable entry, the mass prune guard), each with its reason.
import { keyOf } from "../../api/resources.ts";
import { type DirectorySource, massPruneMessage } from "../../sources/directory/index.ts";
import { listRecords } from "../../sources/state/index.ts";
import { displayPath } from "../../sources/yaml/index.ts";
import { type PruneFlags, pruneOptionsOf } from "../prune-flags.ts";
import type { PlannedChange } from "./plan.ts";

/** Deletes (prunes), kept objects and held-back prunes, each with its reason. */
export async function pruneChanges(
  source: DirectorySource,
  stateDir: string,
  options: PruneFlags,
): Promise<PlannedChange[]> {
  const out: PlannedChange[] = [];
  const report = source.pruneReport();
  const unreadable = report.unreadable[0];
  const mass = report.massBlocked;
  const settle = "after --prune-settle with the tree unchanged";
  for (const kind of ["MlopsStack", "TrainingJob"] as const) {
    for (const record of await listRecords(stateDir, kind, undefined)) {
      const key = keyOf(record);
      const state = source.lookup(key).state;
      if (state === "deleted")
        out.push({ key, action: "delete", detail: `no file declares it; pruned ${settle}`, fields: [] });
      else if (state === "retained") {
        const why = options.prune === false ? "--prune=false" : "mlops.dev/prune: disabled";
        out.push({ key, action: "keep", detail: `no file declares it; objects kept (${why})`, fields: [] });
      } else if (mass?.keys.includes(key)) {
        const detail = massPruneMessage(mass, pruneOptionsOf(options).mass);
        out.push({ key, action: "blocked", detail, fields: [] });
      } else if (report.pending.includes(key)) {
        const why = unreadable
          ? `${displayPath(unreadable.file)} is unreadable: ${unreadable.message}`
          : "the directory is missing, empty or invalid";
        out.push({
          key,
          action: "blocked",
          detail: `no file declares it; not pruned while ${why}`,
          fields: [],
        });
      }
    }
  }
  return out;
}
