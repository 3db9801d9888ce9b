// A component's generated files as one tar archive for Docker's archive API, extracted at `/`:
// every file and every directory from the component's config root down is owned by the
// component's user, so it can read them (and nobody else can read the secrets).
import type { StackComponent } from "../api/names.ts";
import type { DesiredContainer } from "./model.ts";
import { type TarEntry, tarArchive } from "./tar.ts";

/** Directories the component owns: entries below them carry the component's uid/gid. */
export const CONFIG_ROOTS: Record<StackComponent, string> = {
  consul: "/consul/config",
  nomad: "/etc/nomad.d",
  prometheus: "/etc/prometheus",
  grafana: "/etc/grafana",
};

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

export function archiveEntries(container: DesiredContainer): TarEntry[] {
  const [uid = 0, gid = 0] = container.user.split(":").map(Number);
  const root = CONFIG_ROOTS[container.component];
  /** Directory → does it hold anything that is not a secret (then 0755, else 0700)? */
  const dirs = new Map<string, boolean>();
  for (const file of container.files) {
    if (!file.path.startsWith(`${root}/`)) {
      throw new Error(`${container.name}: ${file.path} is outside the component's config root ${root}`);
    }
    for (let dir = parentOf(file.path); dir.length >= root.length; dir = parentOf(dir)) {
      dirs.set(dir, (dirs.get(dir) ?? false) || !file.secret);
    }
  }
  const entries: TarEntry[] = [...dirs.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, open]) => ({
      path: path.slice(1),
      type: "directory",
      mode: open ? 0o755 : 0o700,
      uid,
      gid,
    }));
  for (const file of container.files) {
    entries.push({
      path: file.path.slice(1),
      type: "file",
      content: file.content,
      mode: file.mode,
      uid,
      gid,
    });
  }
  return entries;
}

export function configArchive(container: DesiredContainer): Buffer {
  return tarArchive(archiveEntries(container));
}
