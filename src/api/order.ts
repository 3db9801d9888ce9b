// Orders strings by their UTF-16 code units, as `<` does: for names (DNS-1123 labels, keys, ISO
// times) the same order as `localeCompare`, without ICU's collator, whose data pages (~2 MB of the
// Node binary) a process that never collates never touches (docs/benchmarks.md, round 25).
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
