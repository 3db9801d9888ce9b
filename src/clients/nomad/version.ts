// Server versions, to use newer Nomad features only where the server reports them.

export interface Version {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

/** "1.9.3", "v2.0.3-beta.1", "2.0.3+ent" → Version; undefined when unparsable. */
export function parseVersion(text: string | undefined): Version | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text?.trim() ?? "");
  if (!match) return undefined;
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: Number(match[3]),
    text: text?.trim() ?? "",
  };
}

export function atLeast(version: Version | undefined, major: number, minor: number, patch: number): boolean {
  if (!version) return false;
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.patch >= patch;
}

/** `max_run_duration` for batch allocations: Nomad ≥ 2.0.3. */
export function supportsMaxRunDuration(version: Version | undefined): boolean {
  return atLeast(version, 2, 0, 3);
}
