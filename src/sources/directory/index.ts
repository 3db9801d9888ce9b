export { findGitDir, gitRevision, headRevision } from "./git.ts";
export { IGNORE_FILE, IgnoreRules } from "./ignore-file.ts";
export type { DirectorySourceOptions, PruneReport } from "./options.ts";
export { DEFAULT_PRUNE_SETTLE_MS, directoryOwnerId } from "./options.ts";
export {
  isDirectory,
  isInside,
  isWithin,
  isYamlFile,
  isYamlPath,
  notADirectory,
  realOrResolved,
  signature,
} from "./paths.ts";
export type { AbsenceVerdict, FullRead, MassPruneLimits } from "./prune.ts";
export {
  DEFAULT_MASS_PRUNE,
  describeAbsence,
  isMassPrune,
  judgeAbsence,
  PRUNE_ANNOTATION,
  pruneDisabled,
} from "./prune.ts";
export { readYamlFile } from "./read.ts";
export { massPruneMessage, PruneReporter } from "./reporter.ts";
export { DirectorySource } from "./source.ts";
export type { Claim, FullReadOutcome, PruneDecision, PrunePolicy } from "./table.ts";
export { ResourceTable } from "./table.ts";
export type { Tree, WalkOptions } from "./walk.ts";
export { walkTree } from "./walk.ts";
export { TreeWatcher } from "./watcher.ts";
