// The directory source's prune rules as `run` and `plan` flags, and what `run --once` says about
// prunes it held back (a mass prune awaiting --allow-mass-prune, a tree that never settled).
import type { Command } from "commander";
import {
  DEFAULT_MASS_PRUNE,
  DEFAULT_PRUNE_SETTLE_MS,
  massPruneMessage,
  type PruneReport,
} from "../sources/directory/index.ts";
import type { PruneOptions } from "./compose.ts";
import { durationOption, parseBool, parseCount, parseFraction } from "./flags.ts";

export interface PruneFlags {
  pruneSettle?: number;
  prune?: boolean;
  maxPruneFraction?: number;
  maxPruneCount?: number;
  allowMassPrune?: boolean;
}

/** Adds the prune flags (`--prune-settle` only where reads wait it out: run). */
export function withPruneFlags(command: Command, settle: boolean): Command {
  if (settle) {
    command.addOption(
      durationOption(
        "--prune-settle <duration>",
        "prune a resource only when absent from two full reads this far apart, the tree unchanged between",
        DEFAULT_PRUNE_SETTLE_MS,
      ),
    );
  }
  return command
    .option(
      "--prune <bool>",
      "false: keep the objects of resources whose file goes (also per resource: mlops.dev/prune: disabled)",
      parseBool,
      true,
    )
    .option(
      "--max-prune-fraction <f>",
      "one pass prunes nothing when it would prune more than this fraction of the resources…",
      parseFraction,
      DEFAULT_MASS_PRUNE.maxFraction,
    )
    .option("--max-prune-count <n>", "…and more than this many", parseCount, DEFAULT_MASS_PRUNE.maxCount)
    .option("--allow-mass-prune", "confirm a prune over both limits");
}

export function pruneOptionsOf(flags: PruneFlags): PruneOptions {
  return {
    settleMs: flags.pruneSettle ?? DEFAULT_PRUNE_SETTLE_MS,
    enabled: flags.prune ?? true,
    mass: {
      maxFraction: flags.maxPruneFraction ?? DEFAULT_MASS_PRUNE.maxFraction,
      maxCount: flags.maxPruneCount ?? DEFAULT_MASS_PRUNE.maxCount,
      allow: flags.allowMassPrune === true,
    },
  };
}

/**
 * Lines for stderr about prunes `run --once` did not make, each a reason to exit 1: a held-back mass
 * prune (naming --allow-mass-prune and every resource kept), or absences a tree that kept changing
 * never let settle. `invalid`: files were reported invalid already (they explain the rest).
 */
export function heldBackPrunes(report: PruneReport, flags: PruneFlags, invalid: boolean): string[] {
  const out: string[] = [];
  const mass = report.massBlocked;
  if (mass) {
    out.push(`mlopsctl: ${massPruneMessage(mass, pruneOptionsOf(flags).mass)}`);
    for (const key of mass.keys) out.push(`  kept: ${key}`);
  }
  if (!invalid && report.pending.length > 0) {
    out.push(
      `mlopsctl: not pruned, the tree kept changing: ${report.pending.join(", ")} (the next run decides)`,
    );
  }
  return out;
}
