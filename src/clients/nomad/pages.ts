// Nomad's paged lists: every page of a list, following X-Nomad-NextToken from the first page, whose
// X-Nomad-Index is the list's (the index to resume an event stream from without a gap).
import { NomadError, NomadReason } from "./errors.ts";
import type { QueryMeta } from "./types.ts";

/** A hard cap on list pages, so a misbehaving server cannot loop us forever. */
export const MAX_PAGES = 10_000;

export interface Listed<T> {
  items: T[];
  /** X-Nomad-Index of the first page. */
  index: number;
  /** An item came twice (same `key`): the server's pages started over, and `items` stop before it. */
  repeated: boolean;
}

/**
 * Fetches page after page until the server sends no next token. With `key`, an item served twice
 * ends the list early as `repeated` (a correct server never serves one twice: its pages follow an
 * order that does not change).
 */
export async function allPages<T>(
  endpoint: string,
  fetchPage: (nextToken: string | undefined) => Promise<{ body: T[] | null; meta: QueryMeta }>,
  key?: (item: T) => string,
): Promise<Listed<T>> {
  const items: T[] = [];
  const seen = new Set<string>();
  let nextToken: string | undefined;
  let index = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { body, meta } = await fetchPage(nextToken);
    if (page === 0) index = meta.index;
    for (const item of body ?? []) {
      if (key) {
        if (seen.has(key(item))) return { items, index, repeated: true };
        seen.add(key(item));
      }
      items.push(item);
    }
    nextToken = meta.nextToken;
    if (!nextToken) return { items, index, repeated: false };
  }
  throw new NomadError(NomadReason.Error, `Nomad GET ${endpoint}: more than ${MAX_PAGES} pages`);
}

/**
 * Every item of a paged list: allPages, and when the server's pages start over (an item served
 * twice), the whole list once more in one unpaged response.
 */
export async function listAll<T>(
  endpoint: string,
  fetchPage: (
    nextToken: string | undefined,
    paged: boolean,
  ) => Promise<{ body: T[] | null; meta: QueryMeta }>,
  key: (item: T) => string,
): Promise<Listed<T>> {
  const listed = await allPages(endpoint, (token) => fetchPage(token, true), key);
  return listed.repeated ? allPages(endpoint, (token) => fetchPage(token, false)) : listed;
}
