// A Notifier's reconcile: can its address (and signing key, when it asks for signed requests) be
// read? Ready True (Configured) or False (SecretNotFound, SecretInvalid, InvalidAddress, InvalidSpec),
// looked at again after a minute while not Ready (a secret file or Secret may appear; an InvalidSpec
// waits for the spec to change). Delivery itself runs beside the controller (deliver.ts), never
// inside a reconcile, and sends nothing unsigned while a signing key cannot be read.
import { setConditions } from "../api/conditions.ts";
import type { Notifier } from "../api/resources.ts";
import {
  type Action,
  awaitChange,
  type BaseContext,
  type Reconciler,
  requeue,
} from "../controller/reconcile.ts";
import { credentialsOf, type NotifierSecrets } from "./credentials.ts";

export interface NotifierContext extends BaseContext, NotifierSecrets {}

export const NOTIFIER_RETRY_MS = 60_000;

export class NotifierReconciler implements Reconciler<Notifier, NotifierContext> {
  readonly kind = "Notifier" as const;

  async reconcile(notifier: Notifier, ctx: NotifierContext): Promise<Action> {
    const problem = await this.#check(notifier, ctx);
    const generation = notifier.metadata.generation;
    const signed =
      notifier.spec.signingKeyFile !== undefined || notifier.spec.signingKeySecretRef !== undefined;
    const conditions = setConditions(
      notifier.status?.conditions,
      [
        problem
          ? { type: "Ready", status: "False", reason: problem.reason, message: problem.message }
          : {
              type: "Ready",
              status: "True",
              reason: "Configured",
              message: `phase changes are sent to its address${signed ? ", signed" : ""}`,
            },
      ],
      generation,
      ctx.clock.now(),
    );
    await ctx.status.write(notifier, { observedGeneration: generation, conditions });
    if (!problem) return awaitChange;
    return problem.reason === "InvalidSpec" ? awaitChange : requeue(NOTIFIER_RETRY_MS);
  }

  async finalize(): Promise<"done"> {
    return "done";
  }

  async #check(
    notifier: Notifier,
    secrets: NotifierSecrets,
  ): Promise<{ reason: string; message: string } | undefined> {
    try {
      await credentialsOf(notifier, {
        ...(secrets.secretsDir ? { secretsDir: secrets.secretsDir } : {}),
        ...(secrets.kubernetes ? { kubernetes: secrets.kubernetes } : {}),
      });
      return undefined;
    } catch (error) {
      const reason = (error as { reason?: string }).reason ?? "SecretNotFound";
      return { reason, message: (error as Error).message };
    }
  }
}
