// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: nomad/state/paginator/
// paginator.go (NewPaginator, Page, next), nomad/state/paginator/tokenizer.go (StructsTokenizer; from
// 1.10.2 CreateIndexAndIDTokenizer), command/agent/http.go (parsePagination, parseReverse).
// How a Nomad server pages a list: it walks the table in index order from the start on every request,
// skips what lies before `next_token`, applies the filters, and stops at the item after `per_page`
// kept ones, whose token becomes X-Nomad-NextToken ("" at the end). Node built-ins only.
//
// The comparison with `next_token` is where versions differ. Up to 1.10.1 it compares the token
// strings, while the table is walked in numeric CreateIndex order: a token "12.<id>" sorts before an
// item "9.<id>", so the page starts over from that item (hashicorp/nomad#25435: the same pages, even
// the same token, again and again). 1.10.2 and 2.x compare a "<CreateIndex>.<ID>" token by its
// number, then by the ID (hashicorp/nomad#25792).
import { NomadDoubleError } from "./state.ts";

export interface PageQuery {
  /** 0: no limit. Negative, as in Nomad: an empty page whose token is the first item's. */
  perPage: number;
  nextToken: string;
  /** The table walked backwards: what lies before `nextToken` is then what sorts above it. */
  reverse: boolean;
}

export interface Pager<T> {
  token(item: T): string;
  /** How the server compares an item's token with `next_token` (<0, 0, >0). */
  compare(token: string, target: string): number;
  /** The request's filters (go-bexpr `filter`, namespaces the token may read). */
  keep(item: T): boolean;
}

/** `per_page`, `next_token` and `reverse` as command/agent/http.go reads them. */
export function pageQuery(url: URL): PageQuery {
  const raw = url.searchParams.get("per_page") ?? "";
  // strconv.ParseInt(raw, 10, 32)
  const perPage = raw === "" ? 0 : /^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(perPage) || perPage > 2 ** 31 - 1 || perPage < -(2 ** 31))
    throw new NomadDoubleError(400, "Expect a number for `per_page` query string parameter");
  return {
    perPage,
    nextToken: url.searchParams.get("next_token") ?? "",
    reverse: url.searchParams.get("reverse") === "true",
  };
}

/** One page of `items` (already in the table's walking order) and the token of the next one. */
export function page<T>(
  items: Iterable<T>,
  pager: Pager<T>,
  query: PageQuery,
): { items: T[]; nextToken: string } {
  const out: T[] = [];
  let found = query.nextToken === "";
  for (const item of items) {
    const token = pager.token(item);
    const compared = pager.compare(token, query.nextToken);
    const before = query.reverse ? compared > 0 : compared < 0;
    if (!found && before) continue;
    if (!pager.keep(item)) continue;
    found = true;
    if (query.perPage !== 0 && out.length >= query.perPage) return { items: out, nextToken: token };
    out.push(item);
  }
  return { items: out, nextToken: "" };
}

/** Go's cmp.Compare on strings (byte order; the tokens are ASCII). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A "<CreateIndex>.<ID>" token against `next_token`, as the server at `version` compares them: as
 * strings up to 1.10.1, by number then ID from 1.10.2 (a target that is not "<int>.<rest>" is still
 * compared as a string).
 */
export function createIndexComparer(version: string): (token: string, target: string) => number {
  if (!numericTokens(version)) return compareStrings;
  return (token, target) => {
    const [targetIndex, targetId] = split(target);
    if (targetId === undefined || !/^\d+$/.test(targetIndex)) return compareStrings(token, target);
    const [index, id = ""] = split(token);
    const difference = Number(index) - Number(targetIndex);
    return difference !== 0 ? Math.sign(difference) : compareStrings(id, targetId);
  };
}

function split(token: string): [string, string | undefined] {
  const dot = token.indexOf(".");
  return dot < 0 ? [token, undefined] : [token.slice(0, dot), token.slice(dot + 1)];
}

/** The fix (hashicorp/nomad#25792) shipped in 1.10.2; 1.11 and 2.x have it. */
function numericTokens(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.+-]/).map(Number);
  if (major !== 1) return major > 1;
  return minor > 10 || (minor === 10 && patch >= 2);
}
