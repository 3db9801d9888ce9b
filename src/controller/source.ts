// Where desired state comes from: a directory of YAML files (GitOps) or Kubernetes custom
// resources. A source tells the controller which keys changed; the controller looks the key up
// and reconciles from current state. Sources enforce the safety rules on deletion: `deleted` is
// only ever returned after the prune guards (docs/state-directory.md, "Prune guards") have passed.
import type { Observable } from "rxjs";
import type { InvalidSpecError } from "../api/errors.ts";
import type { AnyResource, ResourceKey } from "../api/resources.ts";
import type { ResourceIndex, StatusWriter } from "./reconcile.ts";

export type Lookup =
  | { readonly state: "present"; readonly resource: AnyResource }
  /** The resource's document fails to parse or validate: report InvalidSpec, change nothing. */
  | { readonly state: "invalid"; readonly error: InvalidSpecError; readonly lastKnown?: AnyResource }
  /** Gone for good (after the prune guards): finalize, then forget. */
  | { readonly state: "deleted"; readonly lastKnown?: AnyResource }
  /** Gone from the source, but pruning is disabled for it: its objects are kept, nothing is done. */
  | { readonly state: "retained"; readonly lastKnown?: AnyResource }
  /** Not known here (never seen, or already forgotten). */
  | { readonly state: "absent" };

export interface Source extends ResourceIndex, StatusWriter {
  /** For logs and status: "directory /abs/path" or "kubernetes https://…". */
  readonly description: string;
  /** Default owner id derived from the source (hash of the directory's path as given, or the cluster). */
  readonly defaultOwnerId: string;
  /**
   * Default owner ids earlier versions derived for the same source (the directory's resolved path,
   * the cluster's server URL) when they differ from today's: objects carrying one are adopted.
   */
  readonly previousDefaultOwnerIds: readonly string[];
  /** Starts reading; resolves after the first complete read (so orphan cleanup may run). */
  start(): Promise<void>;
  /** Keys whose desired state may have changed (upsert, invalid, deleted). Never a payload. */
  changes(): Observable<ResourceKey>;
  lookup(key: ResourceKey): Lookup;
  /** True when a complete, valid read has settled: pruning and orphan cleanup may act. */
  settled(): boolean;
  /** After finalize succeeded: drop the status and the record of the resource. */
  forget(key: ResourceKey): Promise<void>;
  /** Git revision (HEAD) of what was read, for status.lastAppliedRevision, when known. */
  revision(): string | undefined;
  close(): Promise<void>;
}
