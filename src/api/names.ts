// Names: what a resource may be called, and every external name derived from it. Each derived
// name respects its system's rules and is injective over valid (namespace, name) pairs; the table
// in test/api/names.test.ts proves it on adversarial pairs. Nothing reaches Nomad, Docker, Consul
// or the file system without passing through here.
import { hash } from "node:crypto";
import type { Kind } from "./resources.ts";

/** DNS-1123 label: metadata.name and metadata.namespace. */
/**
 * The operator's name on everything it makes: Docker's managed-by label, Nomad's Meta, the tag of
 * its Consul services and Grafana annotations, its logger's name.
 */
export const MANAGED_BY = "mlops-operator";

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_NAME_LENGTH = 63;
/** Nomad's rule for service names (and Consul's DNS-safe names). */
export const NOMAD_SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/;
/** Docker's rule for container, network and volume names. */
export const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Returns a message when `value` is not a DNS-1123 label of at most 63 characters. */
export function checkLabel(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > MAX_NAME_LENGTH)
    return `must be at most ${MAX_NAME_LENGTH} characters (got ${value.length})`;
  if (!DNS1123_LABEL.test(value)) {
    return "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit";
  }
  return undefined;
}

export function shortHash(text: string, length = 10): string {
  return hash("sha256", text, "hex").slice(0, length);
}

/** Nomad job ID: the resource name, inside the Nomad namespace named by metadata.namespace. */
export function nomadJobId(name: string): string {
  return name;
}

/** Nomad namespace of a resource: its metadata.namespace (never created by the operator). */
export function nomadNamespace(namespace: string): string {
  return namespace;
}

/**
 * Consul service name (registered by Nomad from the job's service block). Consul has one catalog for
 * all Nomad namespaces, so the namespace is folded in through a hash suffix: readable prefix, unique
 * suffix, always within Nomad's 63-character rule.
 */
export function consulServiceName(namespace: string, name: string): string {
  const suffix = shortHash(`${namespace}/${name}`);
  const prefix = `tj-${name}`.slice(0, 63 - suffix.length - 1).replace(/-+$/, "");
  return `${prefix}-${suffix}`;
}

/** Docker container of one replica of a TrainingJob run. '.' cannot occur in a label: injective. */
export function trainingContainerName(namespace: string, name: string, replica: number): string {
  return `mlops.${namespace}.${name}.${replica}`;
}

export const STACK_COMPONENTS = ["consul", "nomad", "prometheus", "grafana"] as const;
export type StackComponent = (typeof STACK_COMPONENTS)[number];

/** Docker container of one component of an MlopsStack. */
export function stackContainerName(namespace: string, stack: string, component: StackComponent): string {
  return `mlops.${namespace}.${stack}.${component}`;
}

/** Docker volume holding one component's data. */
export function stackVolumeName(namespace: string, stack: string, component: StackComponent): string {
  return `mlops.${namespace}.${stack}.${component}-data`;
}

/** Relative path of a resource's file in the state directory: kind/namespace/name.json. */
export function stateFileName(kind: Kind, namespace: string, name: string): string {
  return `${kind.toLowerCase()}/${namespace}/${name}.json`;
}
