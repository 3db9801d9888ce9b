export type { NotificationsOptions } from "./deliver.ts";
export { Notifications } from "./deliver.ts";
export { Outbox, SENT_KEPT } from "./outbox.ts";
export type { NotifierContext } from "./reconciler.ts";
export { NOTIFIER_RETRY_MS, NotifierReconciler } from "./reconciler.ts";
export type { Payload, PhaseChange } from "./select.ts";
export { payloadOf, selects } from "./select.ts";
export { slackEscape, slackMessage } from "./slack.ts";
