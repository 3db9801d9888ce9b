// A list of one kind of the source kept between changes to that kind.
import type { AnyResource, Kind } from "../api/resources.ts";
import type { Source } from "../controller/source.ts";

/**
 * The source's resources of one kind, listed again only after one of them changed: a list reads
 * every resource of every kind, too much for each phase change of thousands of runs.
 */
export function listedOnChange(
  source: Source,
  kind: Kind,
  closers: (() => Promise<void>)[],
): () => AnyResource[] {
  let listed: AnyResource[] | undefined;
  const subscription = source.changes().subscribe((key) => {
    if (key.startsWith(`${kind}/`)) listed = undefined;
  });
  closers.push(async () => subscription.unsubscribe());
  return () => {
    listed ??= source.list(kind);
    return listed;
  };
}
