export type { LocatedIssue } from "./issue.ts";
export { displayPath, formatLocated } from "./issue.ts";
export {
  decodeFile,
  MAX_ALIAS_COUNT,
  MAX_DEPTH,
  MAX_DOCUMENTS,
  MAX_ENTRIES,
  MAX_ENTRIES_WITH_ALIASES,
  MAX_FILE_BYTES,
  shapeProblem,
  tooDeep,
  tooManyAliases,
  tooManyDocuments,
  tooManyEntries,
} from "./limits.ts";
export type { DocumentIdentity, DocumentResult, FileLoad } from "./load.ts";
export { describeIssue, loadBytes, loadText } from "./load.ts";
export type { Position } from "./locate.ts";
export { locate } from "./locate.ts";
