// The kind registry: one entry per resource kind, read by validation, the sources, the CLI and the
// docs. Adding a kind is an entry here (names, CRD file, the rules one schema cannot express), its
// CRD in crds/, its folder under src/ (reconciler, status), and its entry in the composition root's
// handlers; the TypeScript types make each of those a compile error until it is there.
// The names repeat the CRD's spec.names, so a CLI command needs no YAML parse to resolve `tj`; a test
// keeps the two equal.
import type { SpecIssue } from "./errors.ts";
import { notifierIssues } from "./notifier-rules.ts";
import type { Kind, MlopsStackSpec, NotifierSpec, TrainingJobSpec, TrainingQueueSpec } from "./resources.ts";
import { mlopsStackIssues, trainingJobIssues, trainingQueueIssues } from "./rules.ts";

export interface KindInfo {
  readonly kind: Kind;
  /** The CRD's spec.names. */
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  /** File under crds/ holding its CustomResourceDefinition (the one schema). */
  readonly crdFile: string;
  /** True when a document may omit `spec` (every field has a default). */
  readonly specOptional: boolean;
  /** Rules the schema cannot express, run after it passed. */
  readonly rules: (spec: never) => SpecIssue[];
}

export const KIND_REGISTRY: { readonly [K in Kind]: KindInfo & { readonly kind: K } } = {
  TrainingJob: {
    kind: "TrainingJob",
    plural: "trainingjobs",
    singular: "trainingjob",
    shortNames: ["tj"],
    crdFile: "trainingjobs.mlops.dev.yaml",
    specOptional: false,
    rules: (spec: TrainingJobSpec) => trainingJobIssues(spec),
  },
  MlopsStack: {
    kind: "MlopsStack",
    plural: "mlopsstacks",
    singular: "mlopsstack",
    shortNames: ["ms"],
    crdFile: "mlopsstacks.mlops.dev.yaml",
    specOptional: true,
    rules: (spec: MlopsStackSpec) => mlopsStackIssues(spec),
  },
  Notifier: {
    kind: "Notifier",
    plural: "notifiers",
    singular: "notifier",
    shortNames: ["nt"],
    crdFile: "notifiers.mlops.dev.yaml",
    specOptional: false,
    rules: (spec: NotifierSpec) => notifierIssues(spec),
  },
  TrainingQueue: {
    kind: "TrainingQueue",
    plural: "trainingqueues",
    singular: "trainingqueue",
    shortNames: ["tq"],
    crdFile: "trainingqueues.mlops.dev.yaml",
    specOptional: true,
    rules: (spec: TrainingQueueSpec | undefined) => trainingQueueIssues(spec),
  },
};

/** Every kind, in the order sources read and the CLI lists them (platform kinds last). */
export const KINDS: readonly Kind[] = Object.keys(KIND_REGISTRY) as Kind[];

export function kindInfo(kind: Kind): KindInfo {
  return KIND_REGISTRY[kind];
}

export function isKind(value: unknown): value is Kind {
  return typeof value === "string" && Object.hasOwn(KIND_REGISTRY, value);
}

/** Short names, singular and plural, bare or with the group, as kubectl takes them. */
export function kindFromAlias(alias: string, group = "mlops.dev"): Kind | undefined {
  const a = alias.toLowerCase();
  for (const info of Object.values(KIND_REGISTRY)) {
    const names = [info.singular, info.plural, ...info.shortNames];
    if (names.includes(a) || names.some((n) => a === `${n}.${group}`)) return info.kind;
  }
  return undefined;
}

/** "trainingjobs (tj) or mlopsstacks (ms) or …": the kinds as a usage message names them. */
export function kindChoices(): string {
  return KINDS.map((k) => `${KIND_REGISTRY[k].plural} (${KIND_REGISTRY[k].shortNames.join(", ")})`).join(
    " or ",
  );
}
