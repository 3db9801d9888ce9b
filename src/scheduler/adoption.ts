// Adoption of objects made under a previous default owner id of the same source (the directory's
// resolved path, the cluster's server URL; computed by the source, never a free list): a scheduler
// counts an object carrying one of them as this operator's own, so its resource keeps converging
// instead of stopping at NotOwned. Each adoption is told once per object and process (a log line and
// an `Adopted` event on the resource). Any other owner id stays foreign. An explicit --owner-id
// adopts nothing (the composition root passes no previous ids then).
import type { Logger } from "pino";
import type { ResourceKey } from "../api/resources.ts";

export interface AdoptionOptions {
  /** This operator's owner id. */
  readonly ownerId: string;
  /** Previous default owner ids of the same source. */
  readonly previous?: readonly string[];
  /** Called once per adopted object (the composition root records the `Adopted` event). */
  readonly onAdopted?: (key: ResourceKey, adoption: Adopted) => void;
  readonly log?: Logger;
}

export interface Adopted {
  /** Where the object is: `Nomad job ns/id`, for messages. */
  readonly object: string;
  /** The previous owner id it carries. */
  readonly from: string;
  readonly to: string;
}

export class Adoption {
  readonly ownerId: string;
  readonly #previous: ReadonlySet<string>;
  readonly #options: AdoptionOptions;
  readonly #told = new Set<string>();

  constructor(options: AdoptionOptions) {
    this.ownerId = options.ownerId;
    this.#previous = new Set((options.previous ?? []).filter((id) => id !== options.ownerId));
    this.#options = options;
  }

  /** True for this operator's id and for a previous default id it adopts. */
  owns(found: string | undefined): boolean {
    return found === this.ownerId || this.adoptable(found);
  }

  /** True for a previous default id (not this operator's current one). */
  adoptable(found: string | undefined): found is string {
    return found !== undefined && this.#previous.has(found);
  }

  /** Tells of an adoption, once per object. */
  adopted(key: ResourceKey, object: string, from: string): void {
    if (this.#told.has(object)) return;
    this.#told.add(object);
    const adoption = { object, from, to: this.ownerId };
    this.#options.log?.info(
      { key, object, from, to: this.ownerId },
      "adopted an object made under a previous default owner id",
    );
    this.#options.onAdopted?.(key, adoption);
  }
}
