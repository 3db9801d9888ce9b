// What a replica reads when it starts to lead (--leader-elect), and keeps writing while it leads,
// so that a failover loses nothing: the notifier's record of sent and pending notifications, and
// in directory mode (each replica has its own state directory) the queues' arrival and admission
// times. Both live in shared operator state beside the lock: Consul KV in directory mode,
// ConfigMaps beside the Lease with the Kubernetes source (where queue times are already in the
// TrainingJobs' status.queue on the API, which every replica reads).
import type { Logger } from "pino";
import { messageOf } from "../api/errors.ts";
import { type AnyResource, keyOf, type TrainingJob, type TrainingJobStatus } from "../api/resources.ts";
import type { SharedState } from "../api/shared-state.ts";
import type { Source } from "../controller/source.ts";
import { NOTIFICATION_SHARDS, type Notifications, Outbox } from "../notifier/index.ts";
import { QueueTimes } from "../trainingqueue/times.ts";

export interface FailoverState {
  /** After each status write: records the job's queue times while leading with shared state. */
  afterWrite(resource: AnyResource, status: unknown): Promise<void>;
  /** This replica leads: reads what the previous leader recorded, then sends what is pending. */
  lead(shared: SharedState | undefined): Promise<void>;
}

export function failoverState(options: {
  readonly source: Source;
  readonly directory: boolean;
  readonly notifications: Notifications;
  readonly log: Logger;
}): FailoverState {
  const { source, notifications, log } = options;
  let queueTimes: QueueTimes | undefined;
  return {
    async afterWrite(resource, status) {
      await queueTimes
        ?.written(resource, status)
        .catch((error: unknown) =>
          log.warn({ key: keyOf(resource), err: messageOf(error) }, "queue times not recorded"),
        );
    },
    async lead(shared) {
      if (shared && options.directory) {
        const times = new QueueTimes(shared);
        const restored = await times.restore(source, (job: TrainingJob, next: TrainingJobStatus) =>
          source.write(job, next),
        );
        if (restored > 0) log.info({ restored }, "queue times read from the previous leader");
        queueTimes = times;
      }
      notifications.resume(shared ? await Outbox.open(shared, { shards: NOTIFICATION_SHARDS }) : undefined);
    },
  };
}
