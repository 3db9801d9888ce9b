// Which real servers a contract suite may run against: the address a user gives (NOMAD_ADDR,
// CONSUL_HTTP_ADDR, GRAFANA_URL), which `make test-real` also sets for the official images it starts
// (hack/test-real.ts). Without one the real suite is skipped with one visible line saying why; under
// `make test-real` with CI=true a missing server fails instead, so nothing that could run is skipped
// silently.
import { describe, it } from "vitest";

export type RealSystem = "nomad" | "consul" | "grafana";

export const ADDRESS_ENV: Record<RealSystem, string> = {
  nomad: "NOMAD_ADDR",
  consul: "CONSUL_HTTP_ADDR",
  grafana: "GRAFANA_URL",
};

/** The real server's address, or undefined when none is given. */
export function realAddress(system: RealSystem): string | undefined {
  const value = process.env[ADDRESS_ENV[system]];
  return value ? value.replace(/\/+$/, "") : undefined;
}

/**
 * Declares `suite(address)` for the real server, or the visible skip (failing under CI=true with
 * MLOPS_TEST_REAL=1, where `make test-real` promised a server).
 */
export function describeReal(system: RealSystem, name: string, suite: (address: string) => void): void {
  const address = realAddress(system);
  if (address) {
    describe(`${name} — real server at ${address}`, () => suite(address));
    return;
  }
  const why = `no real ${system} (set ${ADDRESS_ENV[system]}, or run make test-real)`;
  if (process.env.CI === "true" && process.env.MLOPS_TEST_REAL === "1") {
    it(`${name} — real server`, () => {
      throw new Error(`${why}; make test-real under CI=true needs it`);
    });
    return;
  }
  // Skipped on purpose, visibly: no real server here; the same suite runs when one is given.
  it.skip(`${name} — real server [skipped: ${why}]`, () => {});
}
