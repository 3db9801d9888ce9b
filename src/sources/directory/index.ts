export { findGitDir, gitRevision, headRevision } from "./git.ts";
export { isDirectory, isInside, isYamlPath, realOrResolved, signature } from "./paths.ts";
export { readYamlFile } from "./read.ts";
export type { DirectorySourceOptions } from "./source.ts";
export { DirectorySource, directoryOwnerId } from "./source.ts";
export type { Claim } from "./table.ts";
export { ResourceTable } from "./table.ts";
export { isYamlFile, walkTree } from "./walk.ts";
export { TreeWatcher } from "./watcher.ts";
