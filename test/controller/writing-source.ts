// A Source for status writers' tests: like the directory source, it replaces the status on the
// resource it wrote, and holds that resource as the key's (get).
import { type AnyResource, keyOf, type ResourceKey } from "../../src/api/resources.ts";
import type { Source } from "../../src/controller/source.ts";

export function writingSource(): Source {
  const held = new Map<ResourceKey, AnyResource>();
  return {
    write: async (resource: AnyResource, status: unknown) => {
      (resource as { status?: unknown }).status = status;
      held.set(keyOf(resource), resource);
    },
    get: (key: ResourceKey) => held.get(key),
    list: () => [],
  } as unknown as Source;
}
