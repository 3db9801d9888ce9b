import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageOf, reasonOf } from "../../src/api/errors.ts";
import type { TrainingJob } from "../../src/api/resources.ts";
import { SecretResolver } from "../../src/secrets/index.ts";
import { KubernetesSecretReader } from "../../src/sources/kubernetes/index.ts";
import { KubernetesDouble } from "../doubles/kubernetes/index.ts";

const VALUE = "s3cr3t-Value-7f1e";
let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlops-secrets-"));
  dir = join(root, "secrets");
  await mkdir(join(dir, "db"), { recursive: true });
  await writeFile(join(dir, "token"), `${VALUE}\n`);
  await writeFile(join(dir, "two-newlines"), `${VALUE}\n\n`);
  await writeFile(join(dir, "db", "creds.yaml"), `user: alice\npassword: "${VALUE}"\nport: 5432\n`);
  await writeFile(join(dir, "creds.json"), JSON.stringify({ password: VALUE }));
  await writeFile(join(dir, "list.yaml"), `- ${VALUE}\n`);
  await writeFile(join(dir, "broken.yaml"), `password: [${VALUE}\n`);
  await writeFile(join(root, "outside"), VALUE);
  await symlink(join(root, "outside"), join(dir, "escape"));
  await symlink(join(dir, "token"), join(dir, "inside-link"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function job(valueFrom: unknown, namespace = "ml"): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name: "train", namespace, generation: 1 },
    spec: {
      image: "x",
      env: [
        { name: "PLAIN", value: "p" },
        { name: "TOKEN", valueFrom },
      ],
    },
  } as unknown as TrainingJob;
}

async function outcome(resolver: SecretResolver, valueFrom: unknown): Promise<string> {
  try {
    const resolved = await resolver.resolve(job(valueFrom));
    return `value ${JSON.stringify(resolved?.values.TOKEN)}`;
  } catch (error) {
    expect(messageOf(error)).not.toContain(VALUE);
    return `${reasonOf(error)}: ${messageOf(error)}`;
  }
}

describe("valueFrom.file", () => {
  const table: [string, unknown, string | RegExp][] = [
    ["the content less one trailing newline", { file: { path: "token" } }, `value "${VALUE}"`],
    ["only one newline is dropped", { file: { path: "two-newlines" } }, `value "${VALUE}\\n"`],
    ["a key of a flat YAML map", { file: { path: "db/creds.yaml", key: "password" } }, `value "${VALUE}"`],
    ["a number becomes its text", { file: { path: "db/creds.yaml", key: "port" } }, 'value "5432"'],
    ["a key of a JSON map", { file: { path: "creds.json", key: "password" } }, `value "${VALUE}"`],
    ["a link that stays inside", { file: { path: "inside-link" } }, `value "${VALUE}"`],
    [
      "a missing file names the reference",
      { file: { path: "nope" } },
      /^SecretNotFound: TrainingJob\/ml\/train spec\.env\[1\] \(TOKEN\): file "nope": no such file in --secrets-dir /,
    ],
    [
      "a missing key names the reference",
      { file: { path: "db/creds.yaml", key: "pass" } },
      'SecretNotFound: TrainingJob/ml/train spec.env[1] (TOKEN): file "db/creds.yaml" key "pass": no such key in the file',
    ],
    [
      "a symbolic link out of the directory",
      { file: { path: "escape" } },
      /^InvalidSpec: .*leads outside --secrets-dir/,
    ],
    ["'..' is refused before any read", { file: { path: "../outside" } }, /^InvalidSpec: .*without "\.\."/],
    ["a key of a list", { file: { path: "list.yaml", key: "a" } }, /^SecretInvalid: .*not a map/],
    [
      "an unparsable map, without its text",
      { file: { path: "broken.yaml", key: "password" } },
      /^SecretInvalid: .*not valid YAML or JSON/,
    ],
    ["a directory", { file: { path: "db" } }, /^SecretInvalid: .*not a regular file/],
  ];
  it.each(table)("%s", async (_what, valueFrom, expected) => {
    const got = await outcome(new SecretResolver({ secretsDir: dir }), valueFrom);
    if (typeof expected === "string") expect(got).toBe(expected);
    else expect(got).toMatch(expected);
  });

  it("is InvalidSpec (terminal) without --secrets-dir", async () => {
    expect(await outcome(new SecretResolver(), { file: { path: "token" } })).toBe(
      "InvalidSpec: TrainingJob/ml/train spec.env[1] (TOKEN): valueFrom.file needs the operator to run with --secrets-dir",
    );
  });

  it("resolves nothing for a job without references, and hashes values without keeping them", async () => {
    const resolver = new SecretResolver({ secretsDir: dir });
    const plain = job(undefined);
    plain.spec.env = [{ name: "PLAIN", value: "p" }];
    expect(await resolver.resolve(plain)).toBeUndefined();
    const resolved = await resolver.resolve(job({ file: { path: "token" } }));
    expect(resolved?.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(resolved?.hash).not.toContain(VALUE);
    const other = await resolver.resolve(job({ file: { path: "two-newlines" } }));
    expect(other?.hash).not.toBe(resolved?.hash);
  });
});

describe("valueFrom.secretKeyRef (Kubernetes double, real client)", () => {
  let double: KubernetesDouble;
  let resolver: SecretResolver;
  beforeAll(async () => {
    double = new KubernetesDouble();
    await double.start();
    double.secrets.put("ml", "tracking", { key: VALUE, "other.key": "x" });
    double.secrets.put("other", "tracking", { key: "wrong-namespace" });
    const reader = new KubernetesSecretReader(double.kubeConfig());
    resolver = new SecretResolver({ kubernetes: (ns, name) => reader.get(ns, name) });
  });
  afterAll(async () => {
    await double.close();
  });

  it("reads the key of a Secret in the resource's namespace", async () => {
    expect(await outcome(resolver, { secretKeyRef: { name: "tracking", key: "key" } })).toBe(
      `value "${VALUE}"`,
    );
    expect(double.requests.at(-1)?.path).toBe("/api/v1/namespaces/ml/secrets/tracking");
  });

  it("a missing Secret or key is SecretNotFound naming it", async () => {
    expect(await outcome(resolver, { secretKeyRef: { name: "gone", key: "key" } })).toBe(
      'SecretNotFound: TrainingJob/ml/train spec.env[1] (TOKEN): Secret "gone" key "key" in namespace ml: no such Secret',
    );
    expect(await outcome(resolver, { secretKeyRef: { name: "tracking", key: "nope" } })).toBe(
      'SecretNotFound: TrainingJob/ml/train spec.env[1] (TOKEN): Secret "tracking" key "nope" in namespace ml: no such key in the Secret',
    );
  });

  it("is InvalidSpec in directory mode", async () => {
    const got = await outcome(new SecretResolver({ secretsDir: dir }), {
      secretKeyRef: { name: "t", key: "k" },
    });
    expect(got).toMatch(/^InvalidSpec: .*needs the operator to run with --source kubernetes/);
  });
});
