import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { formatPath } from "../../src/api/errors.ts";
import { validateDocument } from "../../src/api/validate.ts";

const tj = (spec: unknown, metadata: Record<string, unknown> = { name: "job" }) => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingJob",
  metadata,
  spec,
});
const ms = (spec: unknown) => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "MlopsStack",
  metadata: { name: "stack" },
  spec,
});

function issues(document: unknown): string[] {
  const result = validateDocument(document);
  return result.ok ? [] : result.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

describe("validateDocument", () => {
  const table: [string, unknown, string[]][] = [
    ["a minimal TrainingJob", tj({ image: "x" }), []],
    [
      "a typo is an unknown field with a hint",
      tj({ image: "x", replica: 3 }),
      ['spec.replica: unknown field (did you mean "replicas"?)'],
    ],
    [
      "a field named without its unit is hinted the one field it begins",
      tj({ image: "x", retryPolicy: { backoff: { delaySeconds: 5, maxDelay: 60 } } }),
      ['spec.retryPolicy.backoff.maxDelay: unknown field (did you mean "maxDelaySeconds"?)'],
    ],
    ["no hint for a word near no field", tj({ image: "x", flavour: 1 }), ["spec.flavour: unknown field"]],
    [
      "a backoff's longest wait shorter than its first",
      tj({ image: "x", retryPolicy: { backoff: { delaySeconds: 600 } } }),
      [
        "spec.retryPolicy.backoff.maxDelaySeconds: must be ≥ delaySeconds (600; maxDelaySeconds defaults to 360)",
      ],
    ],
    ["image is required", tj({}), ["spec.image: is required"]],
    ["gpus must be ≥ 0", tj({ image: "x", resources: { gpus: -1 } }), ["spec.resources.gpus: must be ≥ 0"]],
    ["wrong type", tj({ image: "x", replicas: "two" }), ["spec.replicas: must be an integer"]],
    [
      "value and valueFrom exclude each other",
      tj({ image: "x", env: [{ name: "A", value: "v", valueFrom: { file: { path: "a" } } }] }),
      ["spec.env[0]: value and valueFrom are mutually exclusive"],
    ],
    [
      "valueFrom names exactly one source",
      tj({ image: "x", env: [{ name: "A", valueFrom: {} }] }),
      ["spec.env[0].valueFrom: needs exactly one of file or secretKeyRef"],
    ],
    [
      "both sources at once",
      tj({
        image: "x",
        env: [{ name: "A", valueFrom: { file: { path: "a" }, secretKeyRef: { name: "s", key: "k" } } }],
      }),
      ["spec.env[0].valueFrom: needs exactly one of file or secretKeyRef"],
    ],
    [
      "a file path stays inside the secrets directory",
      tj({ image: "x", env: [{ name: "A", valueFrom: { file: { path: "../etc/passwd" } } }] }),
      ["spec.env[0].valueFrom.file.path: must be relative to the operator's --secrets-dir, without '..'"],
    ],
    [
      "an absolute file path",
      tj({ image: "x", env: [{ name: "A", valueFrom: { file: { path: "/etc/passwd" } } }] }),
      ["spec.env[0].valueFrom.file.path: must be relative to the operator's --secrets-dir, without '..'"],
    ],
    [
      "secretKeyRef needs name and key",
      tj({ image: "x", env: [{ name: "A", valueFrom: { secretKeyRef: { name: "s" } } }] }),
      ["spec.env[0].valueFrom.secretKeyRef.key: is required"],
    ],
    [
      "a file reference with a key is valid",
      tj({
        image: "x",
        env: [{ name: "A", valueFrom: { file: { path: "db/creds.yaml", key: "password" } } }],
      }),
      [],
    ],
    [
      "env names are environment variable names",
      tj({ image: "x", env: [{ name: "1A" }] }),
      ["spec.env[0].name: must match ^[A-Za-z_][A-Za-z0-9_]*$"],
    ],
    [
      "duplicate env",
      tj({ image: "x", env: [{ name: "A" }, { name: "A" }] }),
      ['spec.env[1].name: duplicates spec.env[0].name "A"'],
    ],
    [
      "a volume needs name or hostPath",
      tj({ image: "x", volumes: [{ mountPath: "/d" }] }),
      ["spec.volumes[0]: needs exactly one of name or hostPath"],
    ],
    [
      "at most one writable checkpoint volume",
      tj({
        image: "x",
        volumes: [
          { name: "a", mountPath: "/a", checkpoint: true },
          { name: "b", mountPath: "/b", checkpoint: true, readOnly: true },
        ],
      }),
      [
        "spec.volumes[1].checkpoint: spec.volumes[0] is already the checkpoint volume (at most one)",
        "spec.volumes[1].readOnly: a checkpoint volume must be writable",
      ],
    ],
    [
      "the attempt's environment is the operator's",
      tj({ image: "x", env: [{ name: "MLOPS_ATTEMPT", value: "1" }] }),
      ["spec.env[0].name: MLOPS_ATTEMPT is set by the operator"],
    ],
    [
      "a retry policy with exit code lists",
      tj({ image: "x", retryPolicy: { infraRetryLimit: 5, retryOnExitCodes: [137], failOnExitCodes: [3] } }),
      [],
    ],
    [
      "exit codes are 1..255",
      tj({ image: "x", retryPolicy: { failOnExitCodes: [0] } }),
      ["spec.retryPolicy.failOnExitCodes[0]: must be ≥ 1"],
    ],
    [
      "path traversal in a name",
      tj({ image: "x" }, { name: "../etc" }),
      [expect.stringMatching(/^metadata\.name: must be a DNS-1123 label/) as unknown as string],
    ],
    [
      "unknown metadata field",
      tj({ image: "x" }, { name: "j", nmae: "x" }),
      ['metadata.nmae: unknown field (did you mean "name"?)'],
    ],
    [
      "wrong apiVersion",
      { ...tj({ image: "x" }), apiVersion: "mlops.dev/v1" },
      ['apiVersion: must be "mlops.dev/v1alpha1" (got "mlops.dev/v1")'],
    ],
    [
      "no apiVersion (said so, not `got undefined`)",
      { ...tj({ image: "x" }), apiVersion: undefined },
      ['apiVersion: is required: "mlops.dev/v1alpha1"'],
    ],
    ["the seed's stack by default", ms(undefined), []],
    [
      "an IP outside the subnet",
      ms({ grafana: { ip: "10.0.0.5" } }),
      ["spec.grafana.ip: 10.0.0.5 is outside spec.network.subnet 172.20.0.0/16"],
    ],
    [
      "the gateway IP",
      ms({ consul: { ip: "172.20.0.1" } }),
      ["spec.consul.ip: 172.20.0.1 is the subnet's gateway address"],
    ],
    [
      "duplicate IPs",
      ms({ nomad: { ip: "172.20.0.10" } }),
      ["spec.nomad.ip: 172.20.0.10 is already spec.consul.ip"],
    ],
    [
      "duplicate host ports",
      ms({ grafana: { hostPort: 9090 } }),
      ["spec.grafana.hostPort: 9090 is already published by spec.prometheus"],
    ],
    ["a disabled component does not clash", ms({ grafana: { enabled: false, hostPort: 9090 } }), []],
    [
      "host bits in the subnet",
      ms({ network: { subnet: "172.20.1.0/16" }, consul: { ip: "172.20.0.10" } }),
      ["spec.network.subnet: host bits are set: did you mean 172.20.0.0/16?"],
    ],
  ];
  for (const [name, document, expected] of table) {
    it(name, () => {
      expect(issues(document)).toEqual(expected);
      // A document handed over (owned, not copied) validates to the same result.
      expect(validateDocument(structuredClone(document), { owned: true })).toEqual(
        validateDocument(document),
      );
    });
  }

  it("applies the CRD's defaults", () => {
    const result = validateDocument(ms(undefined));
    expect(result.ok && result.resource.spec).toMatchObject({
      network: { name: "mlops-network", subnet: "172.20.0.0/16" },
      consul: { ip: "172.20.0.10", port: 8500 },
      nomad: { ip: "172.20.0.20", port: 4646 },
      prometheus: { ip: "172.20.0.30", port: 9090, serviceDiscovery: "consul" },
      grafana: { ip: "172.20.0.40", port: 3000 },
    });
  });

  it("does not modify its input", () => {
    const doc = tj({ image: "x" });
    validateDocument(doc);
    expect(doc.spec).toEqual({ image: "x" });
  });

  it("owned: uses the document handed over as is (no copy; the defaults land in it)", () => {
    const doc = ms(undefined);
    const result = validateDocument(doc, { owned: true });
    expect(result.ok && result.resource.spec).toBe(doc.spec);
    expect(doc.spec).toMatchObject({ network: { name: "mlops-network", subnet: "172.20.0.0/16" } });
  });
});

describe("one schema", () => {
  it("the generated TypeScript types match the CRDs", () => {
    const out = execFileSync(process.execPath, ["hack/gen-types.ts", "--check"], { encoding: "utf8" });
    expect(out).toContain("match");
  });
});
