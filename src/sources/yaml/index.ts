export type { LocatedIssue } from "./issue.ts";
export { displayPath, formatLocated } from "./issue.ts";
export { decodeFile, MAX_ALIAS_COUNT, MAX_DEPTH, MAX_FILE_BYTES, tooDeep } from "./limits.ts";
export type { DocumentIdentity, DocumentResult, FileLoad } from "./load.ts";
export { describeIssue, loadBytes, loadText } from "./load.ts";
export type { Position } from "./locate.ts";
export { locate } from "./locate.ts";
