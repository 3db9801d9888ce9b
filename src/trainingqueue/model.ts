// Every reason a TrainingQueue's conditions can carry (the one union of the kind), with what each
// means; docs/queues.md lists them.
export const QUEUE_REASONS = {
  Admitting: "the queue admits runs up to its quota (Ready True); pending runs wait for quota in use",
  InvalidSpec: "the document fails to parse or validate: the queue admits nothing new (Stalled True)",
} as const;

export type QueueConditionReason = keyof typeof QUEUE_REASONS;
