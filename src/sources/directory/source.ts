// The directory source (GitOps): a tree of YAML files, watched event by event, as the Source port.
// What the files say lives in ResourceTable (with the prune guards); this class does the I/O: full
// reads, file events, generations and status through the state directory, the Git revision.
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { concat, defer, from, type Observable, Subject } from "rxjs";
import { pause } from "../../api/backoff.ts";
import { type AnyResource, type Kind, keyOf, type ResourceKey, type StatusOf } from "../../api/resources.ts";
import { turnBudget } from "../../api/turns.ts";
import { type Clock, systemClock } from "../../controller/reconcile.ts";
import type { Lookup, Source } from "../../controller/source.ts";
import { sourceInvalidDocuments } from "../../observability/metrics.ts";
import { recordToResource, type StateStore, specHash } from "../state/index.ts";
import type { FileLoad } from "../yaml/index.ts";
import { FileReads } from "./file-reads.ts";
import { findGitDir, headRevision } from "./git.ts";
import { IGNORE_FILE, IgnoreRules } from "./ignore-file.ts";
import {
  DEFAULT_PRUNE_SETTLE_MS,
  type DirectorySourceOptions,
  directoryOwnerIds,
  type PruneReport,
} from "./options.ts";
import { isDirectory, isInside, isYamlPath, realOrResolved } from "./paths.ts";
import { DEFAULT_MASS_PRUNE, type FullRead } from "./prune.ts";
import { PruneReporter } from "./reporter.ts";
import { type FullReadOutcome, ResourceTable } from "./table.ts";
import { walkTree } from "./walk.ts";
import { TreeWatcher } from "./watcher.ts";

export class DirectorySource implements Source {
  readonly description: string;
  readonly defaultOwnerId: string;
  readonly previousDefaultOwnerIds: readonly string[];
  /** The directory as given (resolved, not followed): a symbolic link may be swapped under it. */
  readonly given: string;
  readonly #options: DirectorySourceOptions;
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #table: ResourceTable;
  readonly #changes = new Subject<ResourceKey>();
  /** Last status per key (null: none stored) where the state store holds no record of it (`run --once`). */
  readonly #statuses = new Map<ResourceKey, unknown>();
  /** Each file at its last read (stat signature; with `once`, its load too). */
  readonly #reads: FileReads;
  #watcher: TreeWatcher | undefined;
  #rootWatcher: TreeWatcher | undefined;
  #dir: string;
  #work: Promise<void> = Promise.resolve();
  #confirmTimer: NodeJS.Timeout | undefined;
  #exists = false;
  #settled = false;
  #revision: string | undefined;
  #gitDir: string | undefined;
  #closed = false;
  #skipped = 0;
  #expected = false;
  #ignore: IgnoreRules | undefined;
  #fullReads = 0;
  #lastOutcome: FullReadOutcome | undefined;
  readonly #reporter: PruneReporter;

  constructor(options: DirectorySourceOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#reads = new FileReads({ keepLoads: options.once === true });
    this.given = resolve(options.dir);
    this.#dir = realOrResolved(options.dir);
    this.description = `directory ${this.#dir}`;
    [this.defaultOwnerId, this.previousDefaultOwnerIds] = directoryOwnerIds(options.dir);
    this.#reporter = new PruneReporter({
      log: options.log,
      recorder: options.recorder,
      display: (file) => relative(this.dir, file) || basename(file),
      pruneOff: options.prune === false,
      mass: options.massPrune ?? DEFAULT_MASS_PRUNE,
    });
    this.#table = new ResourceTable({
      hash: specHash,
      display: (file) => relative(this.dir, file) || basename(file),
      stamp: (key, resource, hash) => {
        const entry = this.#store.generations.observe(key, hash, this.#clock.now());
        resource.metadata.generation = entry.generation;
        resource.metadata.creationTimestamp = entry.created;
        // Resources carry their status, as on Kubernetes: reconcilers read the last run from it.
        const status = this.#statusOf(key);
        if (status !== undefined) (resource as { status?: unknown }).status = status;
        this.#store.shareSpecHash(key, hash);
      },
    });
  }

  /** The real path being read (changes when a symbolic link `given` is swapped, as git-sync does). */
  get dir(): string {
    return this.#dir;
  }

  async start(): Promise<void> {
    if (!this.#options.once) this.#watch();
    await this.#enqueue(() => this.#fullRead(true));
    if (!this.#options.once) return;
    // --once waits a pending prune out: confirming reads until it is decided (bounded: a tree that
    // keeps changing is left alone, and the prune waits for the next run).
    for (let i = 0; i < 10; i++) {
      const dueAt = this.#lastOutcome?.dueAt;
      if (dueAt === undefined || this.#table.missing().length === 0) break;
      const wait = dueAt - this.#clock.now().getTime();
      if (wait > 0) await pause(wait);
      await this.#enqueue(() => this.#fullRead(false));
    }
  }

  /** Unreadable entries, pending, retained and mass-blocked prunes as of the last read. */
  pruneReport(): PruneReport {
    const blocked = this.#lastOutcome?.massBlocked;
    return {
      unreadable: this.#table.unreadable(),
      pending: this.#table.missing().filter((k) => !blocked?.keys.includes(k)),
      retained: this.#table.retained(),
      ...(blocked ? { massBlocked: blocked } : {}),
    };
  }

  /**
   * Every key known at subscription (present, invalid or deleted), then each key whose lookup
   * changes. Subscribing before or after start() both see everything; the queue dedups.
   */
  changes(): Observable<ResourceKey> {
    return concat(
      defer(() => from([...this.#table.keys()])),
      this.#changes,
    );
  }

  lookup(key: ResourceKey): Lookup {
    const found = this.#table.lookup(key);
    if ((found.state === "invalid" || found.state === "deleted") && found.lastKnown === undefined) {
      // Not read here (invalid or gone since start-up): the state directory's record, with its run.
      const lastKnown = this.#lastKnownFromState(key);
      if (lastKnown) return { ...found, lastKnown };
    }
    return found;
  }

  get(key: ResourceKey): AnyResource | undefined {
    const found = this.#table.lookup(key);
    return found.state === "present" ? found.resource : undefined;
  }

  list(kind: Kind, namespace?: string): AnyResource[] {
    return this.#table.list(kind, namespace);
  }

  settled(): boolean {
    return this.#settled;
  }

  revision(): string | undefined {
    return this.#revision;
  }

  /** Writes status to disk (when changed) and onto the resource; if unchanged, the recorded one (one copy). */
  async write<R extends AnyResource>(resource: R, status: StatusOf<R>): Promise<void> {
    const key = keyOf(resource);
    const written = await this.#store.writeStatus(resource, status, this.#clock.now());
    const recorded = this.#store.recorded(key)?.status;
    const kept = written ? status : (recorded ?? status);
    if (kept === recorded) this.#statuses.delete(key);
    else this.#statuses.set(key, kept);
    const found = this.#table.lookup(key);
    const current =
      found.state === "present" ? found.resource : found.state === "absent" ? undefined : found.lastKnown;
    if (current) (current as { status?: unknown }).status = kept;
  }

  async forget(key: ResourceKey): Promise<void> {
    this.#table.forget(key);
    this.#statuses.delete(key);
    await this.#store.forget(key);
  }

  /** The stored status of a key, read from the state directory the first time it is needed. */
  #statusOf(key: ResourceKey): unknown {
    const own = this.#statuses.get(key);
    if (own !== undefined) return own ?? undefined;
    const recorded = this.#store.recorded(key);
    if (recorded) return recorded.status;
    const read = this.#store.readSync(key, false)?.status ?? null;
    if (read === null || this.#store.recorded(key)?.status !== read) this.#statuses.set(key, read);
    return read ?? undefined;
  }

  /** Resolves when every read queued so far is done (tests, and `--once`). */
  idle(): Promise<void> {
    return this.#enqueue(async () => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#confirmTimer) clearTimeout(this.#confirmTimer);
    this.#watcher?.close();
    this.#rootWatcher?.close();
    await this.#work;
    this.#changes.complete();
    await this.#store.generations.flush();
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.#work.then(work);
    this.#work = next.catch((error: unknown) => {
      this.#options.log?.error({ err: error }, "directory read failed");
    });
    return next;
  }

  #watch(): void {
    // The parent of the given path: the directory appearing, disappearing, or its link swapped.
    this.#rootWatcher = new TreeWatcher({
      onChange: (paths) => {
        if (paths !== "rescan" && !paths.has(this.given)) return;
        this.#enqueue(() => this.#fullRead(false)).catch(() => {});
      },
    });
    if (!this.#rootWatcher.add(dirname(this.given)))
      this.#options.log?.warn(
        { dir: this.given },
        "cannot watch the parent: a re-created directory goes unnoticed",
      );
    this.#watcher = new TreeWatcher({
      debounceMs: this.#options.debounceMs ?? 3,
      onChange: (paths) => {
        const read = () => (paths === "rescan" ? this.#fullRead(false) : this.#eventRead(paths));
        this.#enqueue(read).catch(() => {});
      },
    });
  }

  /** A full read: list the tree, read every YAML file, forget files that are gone. */
  async #fullRead(first: boolean): Promise<void> {
    // The first read finds everything: nothing to compare with.
    this.#table.watchChanges(!first);
    const real = realOrResolved(this.given);
    if (real !== this.#dir) {
      // A swapped link (git-sync): read the new tree; files of the old one are gone from the index.
      this.#watcher?.remove(this.#dir);
      this.#dir = real;
      this.#gitDir = undefined;
    }
    const exists = isDirectory(this.#dir);
    if (exists !== this.#exists) this.#table.touch();
    this.#exists = exists;
    if (!this.#exists) {
      // Watches of a deleted tree are dead: drop them; the root watcher notices its return.
      this.#watcher?.remove(this.#dir);
      this.#finishRead(new Set(), first, true);
      return;
    }
    this.#ignore = IgnoreRules.load(this.dir);
    const tree = await walkTree(this.dir, { ignore: this.#ignore });
    for (const d of tree.directories) this.#watcher?.add(d);
    const affected = new Set<ResourceKey>();
    const seen = new Set(tree.files);
    for (const file of [...this.#table.files()]) {
      if (!seen.has(file)) for (const k of this.#table.setFile(file, undefined)) affected.add(k);
    }
    this.#reads.keepOnly(seen);
    // A confirming read re-lists and re-stats everything but re-reads only files that changed; timers
    // and I/O run between stretches of reads (a large read does not freeze the operator).
    const budget = turnBudget();
    for (const file of tree.files) {
      const load = this.#reads.read(file, this.dir, first);
      if (load !== "unchanged") for (const k of this.#table.setFile(file, load)) affected.add(k);
      if (first && load !== "unchanged" && load) this.#skipped += load.skipped;
      if (budget.spent()) await budget.yield();
    }
    // Resources a previous run knew (the state directory) that no file holds are candidates for
    // deletion, under the same guards, from the first read of an existing directory on.
    if (!this.#expected) {
      this.#expected = true;
      this.#table.expect(this.#store.generations.keys());
    }
    this.#finishRead(affected, first, true);
  }

  /** With `once`: the load of `file`'s last read when it has not changed since; else `undefined`. */
  unchangedLoad(file: string): FileLoad | undefined {
    return this.#reads.unchangedLoad(file, (f) => this.#table.cleanDocument(f));
  }

  /** A read of the paths file events named (files, new or removed directories). */
  async #eventRead(paths: ReadonlySet<string>): Promise<void> {
    if (!isDirectory(this.dir) || realOrResolved(this.given) !== this.dir) return this.#fullRead(false);
    // New ignore rules change which files count: read everything again.
    if (paths.has(join(this.dir, IGNORE_FILE))) return this.#fullRead(false);
    this.#table.watchChanges();
    const ignore = this.#ignore ?? IgnoreRules.none(this.dir);
    const affected = new Set<ResourceKey>();
    const add = (keys: Iterable<ResourceKey>) => {
      for (const k of keys) affected.add(k);
    };
    for (const path of paths) {
      if (this.#table.hasFile(path) || (isYamlPath(this.dir, path) && !ignore.ignores(path, false))) {
        // Whatever it is now (a file, gone, a FIFO or directory named like a YAML file).
        add(this.#table.setFile(path, this.#reads.read(path, this.dir, true) as FileLoad | undefined));
      } else if (isDirectory(path)) {
        if (!isInside(this.dir, path) || ignore.ignores(path, true)) continue;
        const tree = await walkTree(path, { root: this.dir, ignore });
        for (const d of tree.directories) this.#watcher?.add(d);
        for (const f of tree.files)
          add(this.#table.setFile(f, this.#reads.read(f, this.dir, true) as FileLoad));
      } else if (this.#watcher?.has(path)) {
        // A directory went away: so did every file below it.
        this.#watcher.remove(path);
        const prefix = path + sep;
        for (const f of [...this.#table.files()])
          if (f.startsWith(prefix)) add(this.#table.setFile(f, undefined));
      }
    }
    this.#finishRead(affected, false, false);
  }

  /** Ends a read; only full reads judge absent keys (prune.ts), event reads only schedule one. */
  #finishRead(affected: Set<ResourceKey>, first: boolean, full: boolean): void {
    const broken = this.#table.brokenFiles();
    const duplicates = this.#table.duplicates();
    const unreadable = this.#table.unreadable();
    const clean = this.#exists && broken.length === 0 && duplicates.length === 0 && unreadable.length === 0;
    sourceInvalidDocuments.set(broken.length + duplicates.length + unreadable.length);
    this.#reporter.unreadable(unreadable, this.#table.missing());
    if (full) {
      const read: FullRead = {
        seq: ++this.#fullReads,
        at: this.#clock.now().getTime(),
        version: this.#table.version,
        clean,
      };
      const outcome = this.#table.endFullRead(
        read,
        {
          settleMs: this.#settleMs,
          enabled: this.#options.prune ?? true,
          mass: this.#options.massPrune ?? DEFAULT_MASS_PRUNE,
        },
        (k) => this.#lastKnownFromState(k),
      );
      this.#lastOutcome = outcome;
      this.#reporter.outcome(outcome, unreadable.length > 0 ? this.#table.missing().length : 0);
      for (const d of [...outcome.pruned, ...outcome.retained]) affected.add(d.key);
      if (outcome.dueAt !== undefined && !this.#options.once) this.#scheduleConfirm(outcome.dueAt);
    } else if (this.#table.missing().length > 0 && !this.#options.once) {
      // A change with something missing: a full read starts (or restarts) its settle interval. Full
      // reads schedule another only while a prune is due, so a held-back mass prune waits for changes.
      this.#scheduleConfirm(this.#clock.now().getTime() + Math.min(this.#settleMs, 250));
    }
    // Settled: this read was clean and no absence awaits its confirming read. Until then orphan
    // cleanup must not act on what merely looks absent.
    // An empty tree is never settled: orphan cleanup would take every object for one.
    this.#settled = clean && this.#table.hasResources() && this.#table.missing().length === 0;
    this.#refreshRevision();
    if (first) this.#reporter.summary(this.dir, this.#exists, this.#table, this.#skipped, this.#revision);
    for (const key of this.#table.changed(affected)) if (!this.#closed) this.#changes.next(key);
  }

  get #settleMs(): number {
    return this.#options.settleMs ?? DEFAULT_PRUNE_SETTLE_MS;
  }

  /** A full read at `at` (ms since the epoch), unless one is already scheduled. */
  #scheduleConfirm(at: number): void {
    if (this.#confirmTimer || this.#closed) return;
    const wait = Math.max(0, at - this.#clock.now().getTime());
    this.#confirmTimer = setTimeout(() => {
      this.#confirmTimer = undefined;
      this.#enqueue(() => this.#fullRead(false)).catch(() => {});
    }, wait);
  }

  #lastKnownFromState(key: ResourceKey): AnyResource | undefined {
    const record = this.#store.readSync(key);
    return record ? recordToResource(record) : undefined;
  }

  #refreshRevision(): void {
    this.#gitDir ??= findGitDir(this.dir);
    this.#revision = this.#gitDir ? headRevision(this.#gitDir) : undefined;
  }
}
