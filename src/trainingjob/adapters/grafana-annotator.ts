// RunAnnotator on Grafana: one organisation-wide region annotation per training run.
import { MANAGED_BY } from "../../api/names.ts";
import type { GrafanaAnnotation, GrafanaClient } from "../../clients/grafana/index.ts";
import type { RunAnnotation, RunAnnotator } from "../ports.ts";

export const ANNOTATION_TAG = MANAGED_BY;

/**
 * A `key:value` tag as Grafana keeps it: Grafana splits a tag on ':' and keeps two parts, trimmed of
 * spaces (pkg/services/tag/model.go ParseTagPairs), and finds annotations by those pairs. A value
 * with a colon or edge spaces would be cut or changed, so they become '_' and go.
 */
export function tagPair(key: string, value: string): string {
  return `${key}:${value.replaceAll(":", "_").trim()}`;
}

/** The tags that identify a run's annotation: `mlops-operator`, `<namespace>/<name>`, `run:<runId>`. */
export function runTags(run: Pick<RunAnnotation, "key" | "runId">): string[] {
  const [, namespace, name] = run.key.split("/");
  return [ANNOTATION_TAG, `${namespace}/${name}`.replaceAll(":", "_"), tagPair("run", run.runId)];
}

export type Finished = Parameters<RunAnnotator["finished"]>[0];

/** Tags of a finished run: the run's tags, the outcome (`succeeded`/`failed`) and `reason:<Reason>`. */
export function finishedTags(run: Finished): string[] {
  return [...runTags(run), run.outcome.toLowerCase(), ...(run.reason ? [tagPair("reason", run.reason)] : [])];
}

/** Text of a finished run: the run's text, then the outcome and reason on a line of their own. */
export function finishedText(run: Finished): string {
  return `${run.text}\n${run.outcome}${run.reason ? `: ${run.reason}` : ""}`;
}

/**
 * Grafana annotations for a run's life: `started()` ensures one region (time = start) tagged
 * `mlops-operator`, `<namespace>/<name>`, `run:<runId>`, organisation-wide (no dashboardUID), and
 * `finished()` patches its end time, adds the outcome and reason tags and appends them to the text.
 *
 * Requests: a new run's start is one POST (`fresh`: no scheduler job existed for the run before this
 * reconcile submitted it, and the annotation is posted only after a submit, so none can exist) and
 * an end with the id from status is one PATCH by that id. A search by tags happens only when the id
 * is unknown: a start of a run that is not fresh (a crash between posting and recording the id in
 * status: the next `started()` finds it and never duplicates it), an end without an id (it writes
 * nothing when the annotation already carries its final end, tags and text), or an id that Grafana
 * no longer has (NotFound: deleted by hand). Without any annotation for the run (Grafana was down for
 * all of it) `finished()` posts the whole region at once. The caller records the end in status
 * (`annotationClosed`) so an end is patched once.
 *
 * Errors are not swallowed: they propagate typed (GrafanaUnavailable, Forbidden, GrafanaRejected,
 * GrafanaError, ...). The caller — the TrainingJob reconciler — catches them, counts
 * `annotationFailures` (src/observability/metrics.ts) by reason, and retries with backoff; Grafana
 * being down never blocks or fails a run. Each call is idempotent, so retrying is always safe.
 */
export class GrafanaRunAnnotator implements RunAnnotator {
  readonly #client: Pick<GrafanaClient, "createAnnotation" | "patchAnnotation" | "findAnnotations">;

  constructor(client: Pick<GrafanaClient, "createAnnotation" | "patchAnnotation" | "findAnnotations">) {
    this.#client = client;
  }

  async started(run: RunAnnotation): Promise<number> {
    const existing = run.fresh ? undefined : await this.#find(run, undefined);
    if (existing) return existing.id;
    return this.#client.createAnnotation({ time: run.startTime, tags: runTags(run), text: run.text });
  }

  async finished(run: Finished): Promise<void> {
    const tags = finishedTags(run);
    const text = finishedText(run);
    const patch = { time: run.startTime, timeEnd: run.endTime, tags, text };
    if (run.id !== undefined) {
      try {
        await this.#client.patchAnnotation(run.id, patch);
        return;
      } catch (error) {
        if ((error as { reason?: unknown }).reason !== "NotFound") throw error;
      }
    }
    const existing = await this.#find(run, run.id);
    if (!existing) {
      await this.#client.createAnnotation({ time: run.startTime, timeEnd: run.endTime, tags, text });
      return;
    }
    const current = new Set(existing.tags ?? []);
    const done =
      existing.time === run.startTime &&
      existing.timeEnd === run.endTime &&
      existing.text === text &&
      tags.every((t) => current.has(t));
    if (done) return;
    await this.#client.patchAnnotation(existing.id, patch);
  }

  /** The run's annotation: the one with `preferredId` if found, else the oldest carrying its tags. */
  async #find(run: RunAnnotation, preferredId: number | undefined): Promise<GrafanaAnnotation | undefined> {
    const tags = runTags(run);
    const found = (await this.#client.findAnnotations({ tags, matchAny: false, limit: 100 })).filter((a) =>
      tags.every((t) => a.tags?.includes(t)),
    );
    return found.find((a) => a.id === preferredId) ?? found.sort((a, b) => a.id - b.id)[0];
  }
}
