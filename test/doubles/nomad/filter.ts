// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: nomad/state/paginator/
// paginator.go (NewPaginator: a filter that does not compile is the paginator's error), nomad/
// job_endpoint.go and nomad/alloc_endpoint.go List (that error as a 400).
// The `filter` query parameter of the Nomad double's list routes: a small subset of go-bexpr over the
// listed objects' top-level fields and Meta. Node built-ins only.
import { NomadDoubleError } from "./state.ts";

/**
 * A go-bexpr subset: `Meta["k"] == "v"`, `Meta.k == "v"`, `<field> == "v"`, `!=`, joined by `and`.
 * A bad expression is a 400, as the paginator's (nomad/job_endpoint.go, nomad/alloc_endpoint.go List).
 */
export function compileFilter<T extends object = Record<string, unknown>>(
  expression: string,
  fields: readonly string[] = ["Namespace", "ID", "Status", "Type"],
): (item: T) => boolean {
  const clause = new RegExp(
    `^\\s*(Meta\\["([^"]+)"\\]|Meta\\.([A-Za-z0-9_]+)|(${fields.join("|")}))\\s*(==|!=)\\s*"([^"]*)"\\s*$`,
  );
  const clauses = expression.split(/\s+and\s+/i).map((text) => {
    const m = clause.exec(text);
    if (!m)
      throw new NomadDoubleError(
        400,
        `failed to create result paginator: failed to read filter expression: unsupported clause ${text.trim()}`,
      );
    const metaKey = m[2] ?? m[3];
    const field = m[4];
    const negate = m[5] === "!=";
    const value = m[6];
    return (item: Record<string, unknown>) => {
      const actual = metaKey
        ? (item.Meta as Record<string, string> | null | undefined)?.[metaKey]
        : item[field ?? ""];
      return (actual === value) !== negate;
    };
  });
  return (item) => clauses.every((c) => c(item as Record<string, unknown>));
}
