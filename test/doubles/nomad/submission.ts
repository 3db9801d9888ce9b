// Server: Nomad 1.9.6, hashicorp/nomad. Follows: nomad/job_endpoint.go (Register: a job whose spec
// did not change is not written again, only evaluated), nomad/structs/structs.go (Job.SpecChanged).
// A registered job as it was submitted, to tell an unchanged re-registration from a change.
import type { NomadJob } from "../../../src/clients/nomad/types.ts";
import { canonical } from "./wire.ts";

/**
 * A job as submitted: its JSON as sent, and its canonical form (sorted keys) worked out only when a
 * submission is compared with it. A new job is never compared: sorting every object of every
 * registered job took ~7 % of the double's CPU in `queue-nomad`.
 */
export class Submission {
  readonly #json: string;
  #canonical: string | undefined;

  constructor(job: NomadJob) {
    this.#json = JSON.stringify(job);
  }

  /** The same content, whatever the order of its keys. */
  same(other: Submission): boolean {
    return this.#json === other.#json || this.#sorted() === other.#sorted();
  }

  /** This submission with Stop set (a stop upserts the job as submitted, stopped). */
  stopped(): Submission {
    return new Submission({ ...(JSON.parse(this.#json) as NomadJob), Stop: true });
  }

  #sorted(): string {
    this.#canonical ??= canonical(JSON.parse(this.#json));
    return this.#canonical;
  }
}
