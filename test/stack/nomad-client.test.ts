// The stack's Nomad client: host volumes (client host_volume blocks, bind-mounted at their host
// paths), GPUs through the external NVIDIA device plugin (plugin_dir, plugin "nomad-device-nvidia",
// the NVIDIA runtime), and spec.nomad.privileged (capabilities when false). Without host volumes
// declared, Nomad filters every node as "missing compatible host volumes"; without the plugin
// (Nomad 1.9.6 bundles none), as "missing devices" (scheduler/feasible.go).
import { describe, expect, it } from "vitest";
import { validateDocument } from "../../src/api/validate.ts";
import { NOMAD_UNPRIVILEGED_CAPS } from "../../src/stack/components.ts";
import { problemOf } from "../../src/stack/errors.ts";
import { renderStack } from "../../src/stack/render.ts";
import { containerOf, renderOptions, stackOf } from "./fixtures.ts";

const nomadOf = (nomad: Record<string, unknown>) =>
  containerOf(renderStack(stackOf({ nomad }), renderOptions), "nomad");
const hcl = (nomad: Record<string, unknown>) => nomadOf(nomad).files[0]?.content ?? "";

describe("MlopsStack spec.nomad: the Nomad client", () => {
  it("defaults: privileged, no host volumes, no GPUs, and a configuration without them", () => {
    const stack = stackOf();
    expect(stack.spec.nomad).toMatchObject({ privileged: true, hostVolumes: [], gpu: { enabled: false } });
    const nomad = nomadOf({});
    expect(nomad.privileged).toBe(true);
    expect(nomad.capAdd).toBeUndefined();
    expect(nomad.runtime).toBeUndefined();
    expect(nomad.mounts).toHaveLength(3);
    expect(hcl({})).not.toMatch(/host_volume|plugin_dir|nomad-device-nvidia|nvidia_runtime/);
  });

  it("host volumes: declared in the client block and bind-mounted at the same path, read-only as asked", () => {
    const nomad = {
      hostVolumes: [
        { name: "datasets", path: "/srv/datasets", readOnly: true },
        { name: "checkpoints", path: "/srv/checkpoints" },
      ],
    };
    expect(hcl(nomad)).toContain(
      [
        "client {",
        "  enabled = true",
        "  meta {",
        '    mlops_network = "mlops-network"',
        "  }",
        '  host_volume "datasets" {',
        '    path = "/srv/datasets"',
        "    read_only = true",
        "  }",
        '  host_volume "checkpoints" {',
        '    path = "/srv/checkpoints"',
        "    read_only = false",
        "  }",
        "}",
      ].join("\n"),
    );
    expect(nomadOf(nomad).mounts.slice(3)).toEqual([
      { type: "bind", source: "/srv/datasets", target: "/srv/datasets", readOnly: true },
      { type: "bind", source: "/srv/checkpoints", target: "/srv/checkpoints", readOnly: false },
    ]);
  });

  it("GPUs: plugin_dir, the NVIDIA plugin block, the docker driver's NVIDIA runtime, and NVML for the Nomad container", () => {
    const gpu = { enabled: true, pluginDir: "/opt/nomad/plugins", ignoredGpuIds: ["GPU-1a2b"] };
    const text = hcl({ gpu });
    expect(text).toContain('plugin_dir = "/opt/nomad/plugins"');
    expect(text).toContain(
      [
        'plugin "nomad-device-nvidia" {',
        "  config {",
        "    enabled = true",
        '    fingerprint_period = "1m"',
        '    ignored_gpu_ids = ["GPU-1a2b"]',
        "  }",
        "}",
      ].join("\n"),
    );
    expect(text).toContain(
      [
        'plugin "docker" {',
        "  config {",
        "    allow_privileged = false",
        "    volumes {",
        "      enabled = true",
        "    }",
        '    nvidia_runtime = "nvidia"',
      ].join("\n"),
    );
    const nomad = nomadOf({ gpu });
    expect(nomad.runtime).toBe("nvidia");
    expect(nomad.env).toEqual(
      expect.arrayContaining(["NVIDIA_VISIBLE_DEVICES=all", "NVIDIA_DRIVER_CAPABILITIES=utility"]),
    );
    expect(nomad.mounts).toContainEqual({
      type: "bind",
      source: "/opt/nomad/plugins",
      target: "/opt/nomad/plugins",
      readOnly: true,
    });
  });

  it("privileged: false runs Nomad as root with SYS_ADMIN and NET_ADMIN only, and is a different container", () => {
    const restricted = nomadOf({ privileged: false });
    expect(restricted.privileged).toBe(false);
    expect(restricted.capAdd).toEqual(["SYS_ADMIN", "NET_ADMIN"]);
    expect(NOMAD_UNPRIVILEGED_CAPS).toEqual(["SYS_ADMIN", "NET_ADMIN"]);
    expect(restricted.specHash).not.toBe(nomadOf({}).specHash);
  });

  it.each([
    [
      {
        hostVolumes: [
          { name: "d", path: "/a" },
          { name: "d", path: "/b" },
        ],
      },
      "spec.nomad.hostVolumes.1.name",
      'duplicates spec.nomad.hostVolumes[0].name "d"',
    ],
    [
      { hostVolumes: [{ name: "d", path: "/srv/../etc" }] },
      "spec.nomad.hostVolumes.0.path",
      "must not contain '..'",
    ],
    [
      { hostVolumes: [{ name: "d", path: "/" }] },
      "spec.nomad.hostVolumes.0.path",
      "must not be the root directory",
    ],
    [{ hostVolumes: [{ name: "d", path: "relative" }] }, "spec.nomad.hostVolumes.0.path", "must match ^/"],
    [{ hostVolumes: [{ name: "Bad Name", path: "/a" }] }, "spec.nomad.hostVolumes.0.name", "must match"],
    [{ gpu: { enabled: true, fingerprintPeriod: "soon" } }, "spec.nomad.gpu.fingerprintPeriod", "must match"],
    [{ privileged: "yes" }, "spec.nomad.privileged", "boolean"],
  ])("rejects %j at %s", (nomad, path, message) => {
    const result = validateDocument({
      apiVersion: "mlops.dev/v1alpha1",
      kind: "MlopsStack",
      metadata: { name: "platform", namespace: "default" },
      spec: { nomad },
    });
    expect(result.ok).toBe(false);
    const issues = result.ok ? [] : result.issues;
    expect(issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n")).toContain(path);
    expect(issues.map((i) => i.message).join("\n")).toContain(message);
  });
});

describe("an engine that refuses privileged containers", () => {
  it("a start failing with runc's 'unable to apply caps' is PrivilegedRefused, pointing at spec.nomad.privileged", () => {
    const error = new Error(
      "(HTTP code 400) unexpected - failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown",
    );
    const problem = problemOf(error);
    expect(problem.reason).toBe("PrivilegedRefused");
    expect(problem.message).toContain("unable to apply caps");
    expect(problem.message).toContain("set spec.nomad.privileged to false");
    expect(problemOf(new Error("port is already allocated")).message).toBe("port is already allocated");
  });
});
