// Server: Nomad 1.9.6, hashicorp/nomad. Follows: nomad/namespace_endpoint.go (UpsertNamespaces,
// DeleteNamespaces), nomad/state/state_store.go (the namespaces table and its index).
// Namespaces of the Nomad double: creating or deleting one moves the index of the namespaces table, on
// which GET /v1/namespaces blocks. Node built-ins only.
import { NomadDoubleError, type NomadState } from "./state.ts";

/** Creates a namespace (PUT /v1/namespace); returns the index it was created at. */
export function addNamespace(state: NomadState, name: string): number {
  if (state.namespaces.has(name)) return state.index;
  state.namespaces.add(name);
  return state.bump(["namespaces"]);
}

/** Deletes a namespace; refused while it holds jobs. */
export function deleteNamespace(state: NomadState, name: string): number {
  if (name === "default") throw new NomadDoubleError(500, "default namespace can not be deleted");
  if ([...state.jobs.values()].some((r) => r.job.Namespace === name))
    throw new NomadDoubleError(500, `namespace "${name}" contains at least one non-terminal job`);
  if (!state.namespaces.delete(name)) return state.index;
  return state.bump(["namespaces"]);
}
