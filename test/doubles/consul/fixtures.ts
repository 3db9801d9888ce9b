// Server: Consul 1.20.2, hashicorp/consul. Follows: api/agent.go (AgentServiceRegistration), as Nomad's
// command/agent/consul/service_client.go fills it.
// Builders of what Nomad registers in Consul for one allocation of a TrainingJob, for tests.
import type { ServiceRegistration } from "./types.ts";

export interface NomadServiceFixture {
  namespace: string;
  name: string;
  allocId: string;
  /** Service name (consulServiceName(namespace, name) in real renders). */
  service?: string;
  task?: string;
  address?: string;
  port?: number;
  tags?: string[];
  /** Initial check status (Consul starts HTTP checks critical unless told otherwise). */
  status?: "passing" | "warning" | "critical";
}

/** A registration shaped like Nomad's: `_nomad-task-…` ID, external-source meta, owner meta, HTTP check. */
export function nomadServiceRegistration(f: NomadServiceFixture): ServiceRegistration {
  const service = f.service ?? `tj-${f.name}`;
  const task = f.task ?? "train";
  const port = f.port ?? 9100;
  const address = f.address ?? "127.0.0.1";
  return {
    ID: `_nomad-task-${f.allocId}-${task}-${service}-metrics`,
    Name: service,
    Tags: f.tags ?? ["mlops-operator", "prometheus"],
    Address: address,
    Port: port,
    Meta: { "external-source": "nomad", mlops_namespace: f.namespace, mlops_name: f.name },
    Checks: [
      {
        CheckID: `_nomad-check-${f.allocId}-metrics`,
        Name: "metrics",
        HTTP: `http://${address}:${port}/metrics`,
        Interval: "10s",
        Timeout: "2s",
        ...(f.status ? { Status: f.status } : {}),
      },
    ],
  };
}
