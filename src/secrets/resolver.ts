// Resolves a TrainingJob's `spec.env[].valueFrom` references to values, just before a run is
// submitted. The values go to the scheduler only (a Nomad Variable, a container's environment); the
// reconciler keeps nothing but their hash, which changes the run-spec hash when the spec asks for a
// new run on a changed secret (restartOnSecretChange).
import { InvalidSpecError } from "../api/errors.ts";
import { hashOf } from "../api/hash.ts";
import { keyOf, type TrainingJob } from "../api/resources.ts";
import { SecretNotFoundError } from "./errors.ts";
import { readFileRef } from "./file.ts";

/** A Kubernetes Secret's data, decoded; undefined when the Secret does not exist. */
export type SecretGetter = (
  namespace: string,
  name: string,
) => Promise<Readonly<Record<string, string>> | undefined>;

export interface SecretResolverOptions {
  /** `--secrets-dir`: where valueFrom.file references are read. Without it they are InvalidSpec. */
  readonly secretsDir?: string;
  /** Kubernetes mode: reads a Secret in the resource's namespace for valueFrom.secretKeyRef. */
  readonly kubernetes?: SecretGetter;
}

export interface ResolvedSecrets {
  /** Env name → value, for the scheduler only. */
  readonly values: Readonly<Record<string, string>>;
  /** Hash over names and values: tells a changed secret without keeping it. */
  readonly hash: string;
}

export class SecretResolver {
  readonly #options: SecretResolverOptions;

  constructor(options: SecretResolverOptions = {}) {
    this.#options = options;
  }

  /** The job's referenced values; undefined when its env references nothing. */
  async resolve(job: TrainingJob): Promise<ResolvedSecrets | undefined> {
    const refs = (job.spec.env ?? []).flatMap((env, i) => (env.valueFrom ? [{ env, i }] : []));
    if (refs.length === 0) return undefined;
    const values: Record<string, string> = {};
    for (const { env, i } of refs) {
      const where = `${keyOf(job)} spec.env[${i}] (${env.name})`;
      const from = env.valueFrom ?? {};
      if (from.file) {
        if (!this.#options.secretsDir) {
          throw new InvalidSpecError(
            [
              {
                path: ["spec", "env", i, "valueFrom", "file"],
                message: "needs the operator's --secrets-dir",
              },
            ],
            `${where}: valueFrom.file needs the operator to run with --secrets-dir`,
          );
        }
        values[env.name] = await readFileRef(this.#options.secretsDir, from.file, where);
      } else if (from.secretKeyRef) {
        values[env.name] = await this.#secretKey(job.metadata.namespace, from.secretKeyRef, where, i);
      }
    }
    return { values, hash: hashOf(values) };
  }

  async #secretKey(
    namespace: string,
    ref: { readonly name: string; readonly key: string },
    where: string,
    i: number,
  ): Promise<string> {
    const named = `${where}: Secret "${ref.name}" key "${ref.key}" in namespace ${namespace}`;
    if (!this.#options.kubernetes) {
      throw new InvalidSpecError(
        [{ path: ["spec", "env", i, "valueFrom", "secretKeyRef"], message: "needs the Kubernetes source" }],
        `${where}: valueFrom.secretKeyRef needs the operator to run with --source kubernetes`,
      );
    }
    const data = await this.#options.kubernetes(namespace, ref.name);
    if (!data) throw new SecretNotFoundError(`${named}: no such Secret`);
    if (!Object.hasOwn(data, ref.key)) throw new SecretNotFoundError(`${named}: no such key in the Secret`);
    return data[ref.key] ?? "";
  }
}
