export type { Credentials, NotifierSecrets } from "./credentials.ts";
export { credentialsOf, InvalidAddressError } from "./credentials.ts";
export type { NotificationsOptions } from "./deliver.ts";
export { Notifications } from "./deliver.ts";
export type { OutboxOptions, Transition } from "./outbox.ts";
export {
  NOTIFICATION_SHARDS,
  Outbox,
  OutboxConflictError,
  OutboxFullError,
  PHASES_KEPT,
  SENT_KEPT,
} from "./outbox.ts";
export type { NotifierContext } from "./reconciler.ts";
export { NOTIFIER_RETRY_MS, NotifierReconciler } from "./reconciler.ts";
export type { Payload, PhaseChange } from "./select.ts";
export { payloadOf, selects, watches } from "./select.ts";
export { SIGNATURE_HEADER, signatureHeaders, TIMESTAMP_HEADER } from "./sign.ts";
export { slackEscape, slackMessage } from "./slack.ts";
