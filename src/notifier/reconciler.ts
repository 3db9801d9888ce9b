// A Notifier's reconcile: is its address usable (spec.address, or spec.addressFile readable under
// --secrets-dir)? Ready True (Configured) or False (SecretNotFound, SecretInvalid, InvalidAddress),
// looked at again after a minute while not Ready (a secret file may appear). Delivery itself runs
// beside the controller (deliver.ts), never inside a reconcile.
import { setConditions } from "../api/conditions.ts";
import { isHttpUrl } from "../api/notifier-rules.ts";
import type { Notifier } from "../api/resources.ts";
import {
  type Action,
  awaitChange,
  type BaseContext,
  type Reconciler,
  requeue,
} from "../controller/reconcile.ts";
import { readFileRef } from "../secrets/index.ts";

export interface NotifierContext extends BaseContext {
  readonly secretsDir?: string;
}

export const NOTIFIER_RETRY_MS = 60_000;

export class NotifierReconciler implements Reconciler<Notifier, NotifierContext> {
  readonly kind = "Notifier" as const;

  async reconcile(notifier: Notifier, ctx: NotifierContext): Promise<Action> {
    const problem = await this.#check(notifier, ctx.secretsDir);
    const generation = notifier.metadata.generation;
    const conditions = setConditions(
      notifier.status?.conditions,
      [
        problem
          ? { type: "Ready", status: "False", reason: problem.reason, message: problem.message }
          : {
              type: "Ready",
              status: "True",
              reason: "Configured",
              message: "phase changes are sent to its address",
            },
      ],
      generation,
      ctx.clock.now(),
    );
    await ctx.status.write(notifier, { observedGeneration: generation, conditions });
    return problem ? requeue(NOTIFIER_RETRY_MS) : awaitChange;
  }

  async finalize(): Promise<"done"> {
    return "done";
  }

  async #check(
    notifier: Notifier,
    secretsDir: string | undefined,
  ): Promise<{ reason: string; message: string } | undefined> {
    const { address, addressFile } = notifier.spec;
    if (address !== undefined) return undefined; // checked by the kind's rules
    if (!secretsDir)
      return { reason: "SecretNotFound", message: "spec.addressFile needs the operator's --secrets-dir" };
    try {
      const url = (await readFileRef(secretsDir, { path: addressFile ?? "" }, "spec.addressFile")).trim();
      // The file's content is a secret: the message names the file, never what it holds.
      if (!isHttpUrl(url))
        return {
          reason: "InvalidAddress",
          message: `spec.addressFile "${addressFile}" does not hold an http(s) URL`,
        };
      return undefined;
    } catch (error) {
      const reason = (error as { reason?: string }).reason ?? "SecretNotFound";
      return { reason, message: (error as Error).message };
    }
  }
}
