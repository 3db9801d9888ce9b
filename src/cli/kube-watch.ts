// Following resources in Kubernetes mode, as `kubectl get -w` and `kubectl wait` do: list (every
// page), then watch from the list's resourceVersion (`watchKube`); `get -w` prints the table, then
// one line per change (ADDED, MODIFIED, and DELETED with the object's last state), until the signal
// aborts (`kubeGetWatch`). It runs on the Kubernetes source's WatchLoop: a 410 Gone lists again, and
// each object that changed or went away while the watch was gone is then reported as a change; other
// failures back off and resume. A first list that fails ends with the API server's answer (a wrong
// kubeconfig, a 403).
import type { Kind } from "../api/resources.ts";
import type { KubeApi, RawObject } from "../sources/kubernetes/index.ts";
import type { StatusRecord } from "../sources/state/index.ts";
import { type KubeTarget, kubeApiFor, listAll, recordOf } from "./kube-read.ts";
import { toJson, toYaml } from "./output.ts";

export type KubeChange = "ADDED" | "MODIFIED" | "DELETED";

export interface KubeFollowOptions {
  readonly kind: Kind;
  /** Undefined: every namespace. */
  readonly namespace: string | undefined;
  readonly target: KubeTarget;
  readonly signal: AbortSignal;
  /** The API (tests); default: the kubeconfig's cluster. */
  readonly api?: KubeApi;
  /** Server-side watch timeout per request (default 300 s; the watch then resumes). */
  readonly timeoutSeconds?: number;
}

export interface KubeFollowHandlers {
  /** The first list's objects. */
  readonly listed: (objects: RawObject[]) => void;
  /** Each change after it (DELETED: the object's last state). */
  readonly changed: (type: KubeChange, object: RawObject) => void;
}

/** Lists, then reports each change until the signal aborts; rejects when the first list fails. */
export async function watchKube(options: KubeFollowOptions, on: KubeFollowHandlers): Promise<void> {
  const kube = await import("../sources/kubernetes/index.ts");
  const { kind, namespace, signal } = options;
  const api = options.api ?? (await kubeApiFor(options.target));
  /** Key → the object as last reported. */
  const shown = new Map<string, RawObject>();
  let listed = false;
  let firstFailure: (error: unknown) => void = () => {};
  const failedFirst = new Promise<never>((_resolve, reject) => {
    firstFailure = reject;
  });
  failedFirst.catch(() => undefined);

  const loop = new kube.WatchLoop({
    name: `mlopsctl/${kube.PLURALS[kind]}`,
    list: async () => {
      try {
        return await listAll(api, kind, namespace);
      } catch (error) {
        if (!listed) firstFailure(error);
        throw error;
      }
    },
    watch: (resourceVersion, onEvent, done) =>
      api.watch(
        kind,
        namespace,
        { resourceVersion, timeoutSeconds: options.timeoutSeconds ?? 300 },
        onEvent,
        done,
      ),
    onList: (items) => {
      if (!listed) {
        listed = true;
        for (const item of items) shown.set(keyOf(item), item);
        on.listed(items);
        return;
      }
      // Listed again after 410 Gone: what changed while no watch was open.
      const now = new Map(items.map((item) => [keyOf(item), item]));
      for (const [key, item] of now) {
        const before = shown.get(key);
        if (before?.metadata.resourceVersion !== item.metadata.resourceVersion)
          on.changed(before ? "MODIFIED" : "ADDED", item);
      }
      for (const [key, item] of shown) if (!now.has(key)) on.changed("DELETED", item);
      shown.clear();
      for (const [key, item] of now) shown.set(key, item);
    },
    onEvent: (type, object) => {
      const key = keyOf(object);
      if (type === "DELETED") shown.delete(key);
      else shown.set(key, object);
      on.changed(type, object);
    },
  });
  const aborted = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  loop.start();
  try {
    await Promise.race([loop.listed, failedFirst, aborted]);
    await Promise.race([failedFirst, aborted]);
  } finally {
    await loop.stop();
  }
}

export interface KubeWatchOptions extends KubeFollowOptions {
  /** "", "wide", "json" or "yaml". */
  readonly format: string;
  readonly write: (text: string) => void;
  /** The table's rows and the change lines (get.ts's, shared with directory mode). */
  readonly table: (records: StatusRecord[]) => string;
  readonly line: (record: StatusRecord) => string;
  /** Aligns change lines with the table's header line. */
  readonly widths: (headerLine: string) => void;
}

/** `get -w`: the table (or the objects), then one line (or object) per change. */
export async function kubeGetWatch(options: KubeWatchOptions): Promise<void> {
  const { kind } = options;
  const structured = options.format === "json" || options.format === "yaml";
  const print = (object: RawObject): void => {
    if (options.format === "json") options.write(toJson(object));
    else if (options.format === "yaml") options.write(`---\n${toYaml(object)}`);
    else options.write(options.line(recordOf(kind, object)));
  };
  await watchKube(options, {
    listed: (items) => {
      if (structured) for (const item of items) print(item);
      else if (items.length > 0) {
        const text = options.table(items.map((item) => recordOf(kind, item)));
        options.write(text);
        options.widths(text.split("\n")[0] ?? "");
      }
    },
    changed: (_type, object) => print(object),
  });
}

const keyOf = (object: RawObject): string => `${object.metadata.namespace}/${object.metadata.name}`;
