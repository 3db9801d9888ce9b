// `mlopsctl validate PATH...`: parses and validates files and directories exactly as the directory
// source does, printing every problem as `path:line:col: message` on stderr and a one-line summary
// on stdout. Exit 1 on any error. Safe on hostile input (see src/sources/yaml/limits.ts). An entry
// the directory source could not read (not a regular file, empty, binary, unparsable: it blocks
// pruning) is an error here too, whoever's file it is; `.mlopsignore` names files to skip.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { keyOf, type ResourceKey } from "../../api/resources.ts";
import { line } from "../../observability/printable.ts";
import { realOrResolved } from "../../sources/directory/paths.ts";
import { readYamlFile } from "../../sources/directory/read.ts";
import { walkTree } from "../../sources/directory/walk.ts";
import { type FileLoad, formatLocated, type LocatedIssue } from "../../sources/yaml/index.ts";
import { EXIT } from "../exit.ts";
import { plural } from "../output.ts";

export interface ValidationReport {
  errors: LocatedIssue[];
  filesWithErrors: number;
  resources: number;
  skippedDocuments: number;
}

export interface ValidateOptions {
  /**
   * A file's load already at hand (read and unchanged since), used instead of reading it again;
   * `undefined`: read it. Its problems are reported under the file name validatePaths shows.
   */
  readonly known?: (path: string) => FileLoad | undefined;
}

/** Validates paths as given (files named explicitly must hold an mlops.dev resource). */
export async function validatePaths(
  paths: readonly string[],
  options: ValidateOptions = {},
): Promise<ValidationReport> {
  const report: ValidationReport = {
    errors: [],
    filesWithErrors: 0,
    resources: 0,
    skippedDocuments: 0,
  };
  const seen = new Map<ResourceKey, LocatedIssue>();
  // A file named twice (`validate dir dir/a.yaml`, or a path given twice) is read once: its
  // resources are not a duplicate of themselves. (One path, as `run --once` gives: nothing to track.)
  const read = paths.length > 1 ? new Set<string>() : undefined;
  for (const given of paths) {
    let isDir: boolean;
    try {
      const stat = statSync(given);
      isDir = stat.isDirectory();
      if (!isDir && !stat.isFile()) {
        addFileErrors(report, [{ file: given, line: 1, col: 1, message: "not a regular file or directory" }]);
        continue;
      }
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? "no such file or directory"
          : (error as Error).message;
      addFileErrors(report, [{ file: given, line: 1, col: 1, message: reason }]);
      continue;
    }
    // walkTree names each file join(given, its path in the tree): shown as it is.
    const files = isDir
      ? (await walkTree(given)).files.map((f) => ({ path: f, shown: f }))
      : [{ path: given, shown: given }];
    const before = report.resources + report.errors.length;
    const root = isDir ? realOrResolved(given) : undefined;
    let readBefore = 0;
    for (const file of files) {
      const absolute = read ? resolve(file.path) : "";
      if (read?.has(absolute)) {
        readBefore++;
        continue;
      }
      read?.add(absolute);
      const known = options.known?.(file.path);
      const load = known ? shownAs(known, file.shown) : readYamlFile(file.path, file.shown, root);
      validateFile(report, seen, load, file.shown, !isDir);
    }
    if (isDir && readBefore === 0 && report.resources + report.errors.length === before) {
      addFileErrors(report, [
        { file: given, line: 1, col: 1, message: "no mlops.dev resources found in this directory" },
      ]);
    }
  }
  return report;
}

/** The load as read under the name `shown` (its problems name the file that way). */
function shownAs(load: FileLoad, shown: string): FileLoad {
  if (load.file === shown) return load;
  const rename = (issue: LocatedIssue): LocatedIssue => ({ ...issue, file: shown });
  return {
    ...load,
    file: shown,
    fileIssues: load.fileIssues.map(rename),
    documents: load.documents.map((doc) => (doc.ok ? doc : { ...doc, located: doc.located.map(rename) })),
  };
}

function validateFile(
  report: ValidationReport,
  seen: Map<ResourceKey, LocatedIssue>,
  load: FileLoad | undefined,
  shown: string,
  explicit: boolean,
): void {
  if (!load) {
    addFileErrors(report, [{ file: shown, line: 1, col: 1, message: "no such file (removed while read)" }]);
    return;
  }
  const errors: LocatedIssue[] = [...load.fileIssues];
  for (const doc of load.documents) {
    if (!doc.ok) {
      errors.push(...doc.located);
      continue;
    }
    const key = keyOf(doc.resource);
    const here: LocatedIssue = { file: shown, line: doc.line, col: doc.col, message: "" };
    const first = seen.get(key);
    if (first) {
      errors.push({
        ...here,
        message: `${key} is also defined in ${first.file}:${first.line}:${first.col}: duplicate resource`,
      });
    } else {
      seen.set(key, here);
      report.resources++;
    }
  }
  if (explicit && errors.length === 0 && load.documents.length === 0) {
    errors.push({
      file: shown,
      line: 1,
      col: 1,
      message: "no mlops.dev resource in this file (apiVersion mlops.dev/v1alpha1)",
    });
  } else {
    report.skippedDocuments += load.skipped;
  }
  addFileErrors(report, errors);
}

function addFileErrors(report: ValidationReport, errors: readonly LocatedIssue[]): void {
  if (errors.length === 0) return;
  report.errors.push(...errors);
  report.filesWithErrors++;
}

export function summary(report: ValidationReport): string {
  if (report.errors.length > 0) {
    return `${plural(report.errors.length, "error")} in ${plural(report.filesWithErrors, "file")}`;
  }
  return `${plural(report.resources, "resource")} valid`;
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("parse and validate resource files and directories; errors as path:line:col: message")
    .argument("<paths...>", "YAML files or directories (searched recursively, dot-directories skipped)")
    .action(async (paths: string[]) => {
      const report = await validatePaths(paths);
      const cwd = process.cwd();
      for (const error of report.errors) process.stderr.write(line(formatLocated(error, cwd)));
      if (report.skippedDocuments > 0) {
        process.stderr.write(
          `note: skipped ${plural(report.skippedDocuments, "document")} of other API groups\n`,
        );
      }
      process.stdout.write(`${summary(report)}\n`);
      if (report.errors.length > 0) process.exitCode = EXIT.failed;
    });
}
