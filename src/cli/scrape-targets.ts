// Scrape targets for Prometheus HTTP service discovery (/sd/prometheus): the metrics endpoints of
// running TrainingJob replicas, as their schedulers reported them in status (no I/O per request).
import type { TrainingJob } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";
import type { ScrapeTarget } from "../stack/sd.ts";

export function scrapeTargets(resources: ResourceIndex): ScrapeTarget[] {
  const targets: ScrapeTarget[] = [];
  for (const job of resources.list("TrainingJob") as TrainingJob[]) {
    const metrics = job.spec.metrics;
    const run = job.status?.run;
    if (!metrics || !run || job.status?.phase !== "Running") continue;
    for (const replica of run.replicas ?? []) {
      if (!replica.address || replica.state !== "running") continue;
      targets.push({
        address: replica.address,
        metricsPath: metrics.path,
        namespace: job.metadata.namespace,
        name: job.metadata.name,
        labels: { replica: String(replica.index ?? 0), run_id: run.id ?? "", scheduler: run.scheduler ?? "" },
      });
    }
  }
  return targets;
}
