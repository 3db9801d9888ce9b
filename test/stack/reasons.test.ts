// The MlopsStack kind's one union of reasons: what the status and the Docker error mapping produce
// is in it, and docs/stack.md carries its table.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OperatorError } from "../../src/api/errors.ts";
import { problemOf } from "../../src/stack/errors.ts";
import { isStackReason, STACK_REASONS, stackReasonTableMarkdown } from "../../src/stack/reasons.ts";

describe("MlopsStack reasons", () => {
  it("docs/stack.md carries the table rendered from the union", () => {
    const doc = readFileSync(new URL("../../docs/stack.md", import.meta.url), "utf8");
    expect(doc).toContain(stackReasonTableMarkdown());
  });

  it.each([
    ["Bind for 127.0.0.1:8500 failed: port is already allocated", "PortInUse"],
    ["Pool overlaps with other one on this address space", "IPInUse"],
    ['Conflict. The container name "/x" is already in use by container "abc"', "NameConflict"],
    ["error while removing network: network x has active endpoints", "NetworkInUse"],
    ["No such image: hashicorp/consul:1.20.2", "ImageNotFound"],
    ["OCI runtime create failed: unable to apply caps: operation not permitted", "PrivilegedRefused"],
  ])("Docker's %j maps to %s, a reason of the table", (message, reason) => {
    const problem = problemOf(new Error(message));
    expect(problem.reason).toBe(reason);
    expect(isStackReason(problem.reason)).toBe(true);
  });

  it("an error reason the table lacks becomes ReconcileError with the reason kept in the message", () => {
    expect(problemOf(new OperatorError("DockerUnavailable", "engine down"))).toEqual({
      reason: "DockerUnavailable",
      message: "engine down",
    });
    expect(problemOf(new OperatorError("NotFound", "no such container: x"))).toEqual({
      reason: "ReconcileError",
      message: "NotFound: no such container: x",
    });
    expect(problemOf(new Error("something odd"))).toEqual({
      reason: "ReconcileError",
      message: "InternalError: something odd",
    });
  });

  it("every reason has a meaning", () => {
    for (const [reason, meaning] of Object.entries(STACK_REASONS)) {
      expect(reason).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });
});
