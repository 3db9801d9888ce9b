// What each Nomad answer means, from the bodies real servers send: nomad/job_endpoint.go (check-and-set,
// namespaces), helper/pool/pool.go (`rpc error: ` on forwarded requests), command/agent/http.go
// (errCodeFromHandler: RPC errors are 500, permission errors 403).
import { describe, expect, it } from "vitest";
import { reasonForStatus } from "../../src/clients/nomad/errors.ts";

describe("reasonForStatus", () => {
  it.each([
    [500, "Enforcing job modify index 0: job already exists", "NomadConflict"],
    [
      500,
      "rpc error: Enforcing job modify index 12: job exists with conflicting job modify index: 14",
      "NomadConflict",
    ],
    [500, "rpc error: rpc error: Enforcing job modify index 3: job does not exist", "NomadConflict"],
    [500, 'job "a" is in nonexistent namespace "ml"', "NamespaceNotFound"],
    [500, 'rpc error: job "a" is in nonexistent namespace "ml"', "NamespaceNotFound"],
    [403, "Permission denied", "Forbidden"],
    [404, "job not found", "NotFound"],
    [500, "No cluster leader", "NomadUnavailable"],
    [500, "rpc error: EOF", "NomadUnavailable"],
    [500, "1 error occurred:\n\t* Missing job task groups\n\n", "NomadError"],
    [400, "Job ID does not match name", "NomadRejected"],
  ])("%i %j → %s", (status, body, expected) => {
    expect(reasonForStatus(status, body)).toBe(expected);
  });
});
