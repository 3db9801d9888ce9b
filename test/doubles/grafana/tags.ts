// Server: Grafana 11.5.2, grafana/grafana. Follows: pkg/services/tag/model.go (ParseTagPairs,
// JoinTagPairs).
// Grafana 11.5.2's tag pairs (pkg/services/tag/model.go): a tag is split on ':' and only the first two
// parts are kept, each trimmed of spaces ("run:a:b" becomes key "run", value "a"); empty keys and
// duplicate pairs are dropped. Annotations are found by these pairs (the annotation_tag table), so
// two tags that differ only after a second colon are the same tag to a search.
export interface TagPair {
  readonly key: string;
  readonly value: string;
}

export function parseTagPairs(tags: readonly string[]): TagPair[] {
  const out: TagPair[] = [];
  for (const tag of tags) {
    const parts = tag.split(":");
    const pair = tag.includes(":")
      ? { key: (parts[0] ?? "").trim(), value: (parts[1] ?? "").trim() }
      : { key: tag.trim(), value: "" };
    if (pair.key === "" || out.some((p) => p.key === pair.key && p.value === pair.value)) continue;
    out.push(pair);
  }
  return out;
}

/** JoinTagPairs: `key:value`, or `key` when the value is empty. */
export function joinTagPairs(pairs: readonly TagPair[]): string[] {
  return pairs.map((p) => (p.value === "" ? p.key : `${p.key}:${p.value}`));
}

export function hasPair(pairs: readonly TagPair[], wanted: TagPair): boolean {
  return pairs.some((p) => p.key === wanted.key && p.value === wanted.value);
}
