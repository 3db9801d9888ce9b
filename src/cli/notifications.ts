// The operator's notifications: the Notifiers (the sources index their resources by kind), their secrets
// (files under --secrets-dir, Secrets in Kubernetes mode), the outbox in the state directory, and
// what a leader keeps for the next one (failover-state.ts). A single process sends what was pending
// at once; with --leader-elect only once it leads.
import type { Logger } from "pino";
import type { Notifier } from "../api/resources.ts";
import type { Source } from "../controller/source.ts";
import { Notifications, type NotifierSecrets, Outbox } from "../notifier/index.ts";
import { type FailoverState, failoverState } from "./failover-state.ts";

export function buildNotifications(options: {
  readonly source: Source;
  readonly stateDir: string;
  readonly secretsDir: string | undefined;
  readonly kubernetes: NotifierSecrets["kubernetes"] | undefined;
  readonly leaderElect: boolean;
  readonly directory: boolean;
  readonly closers: (() => Promise<void>)[];
  readonly log: Logger;
}): {
  readonly notifications: Notifications;
  readonly failover: FailoverState;
  /** Where Notifiers' addresses and keys are read from (their reconciler checks them too). */
  readonly secrets: NotifierSecrets;
} {
  const { source, closers, log } = options;
  const secrets: NotifierSecrets = {
    ...(options.secretsDir ? { secretsDir: options.secretsDir } : {}),
    ...(options.kubernetes ? { kubernetes: options.kubernetes } : {}),
  };
  const notifications = new Notifications({
    outbox: new Outbox(options.stateDir),
    notifiers: () => source.list("Notifier") as Notifier[],
    ...secrets,
    log,
  });
  if (!options.leaderElect) notifications.resume();
  closers.push(() => notifications.close());
  const failover = failoverState({ source, directory: options.directory, notifications, log });
  return { notifications, failover, secrets };
}
