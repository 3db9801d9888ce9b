import { describe, expect, it } from "vitest";
import { LABEL } from "../../src/clients/docker/labels.ts";
import { renderRun, restartPolicyFor } from "../../src/scheduler/docker/render.ts";
import { runRequest } from "./docker-fixtures.ts";

describe("renderRun: one container spec per replica", () => {
  it("a referenced value goes into the container's environment at submit, and nowhere in plan's render", () => {
    const env = [
      { name: "PLAIN", value: "p" },
      { name: "TOKEN", valueFrom: { file: { path: "token" } } },
    ];
    const submitted = renderRun(runRequest({ secrets: { TOKEN: "s3cr3t" } }, { env }));
    expect(submitted[0]?.body.Env).toEqual([
      "PLAIN=p",
      "TOKEN=s3cr3t",
      "MLOPS_RUN_ID=g1-aaaa",
      "MLOPS_ATTEMPT=1",
      "WORLD_SIZE=1",
      "RANK=0",
    ]);
    expect(JSON.stringify(submitted[0]?.body.Labels)).not.toContain("s3cr3t");
    const planned = renderRun(runRequest({}, { env }));
    expect(planned[0]?.body.Env).toEqual([
      "PLAIN=p",
      "MLOPS_RUN_ID=g1-aaaa",
      "MLOPS_ATTEMPT=1",
      "WORLD_SIZE=1",
      "RANK=0",
    ]);
  });

  it("names, env, limits, labels and restart policy of a distributed run", () => {
    const run = runRequest(
      {},
      {
        replicas: 2,
        command: ["/bin/train"],
        args: ["--lr", "0.1"],
        env: [
          { name: "EPOCHS", value: "3" },
          { name: "RANK", value: "99" },
        ],
        resources: { cpu: 1500, memoryMB: 256, gpus: 0 },
        shmSizeMB: 64,
        metrics: { port: 8000, path: "/metrics" },
      },
    );
    const specs = renderRun(run, { extraLabels: { "mlops.dev/test": "true", [LABEL.ownerId]: "forged" } });
    expect(specs.map((s) => s.name)).toEqual(["mlops.default.mnist.0", "mlops.default.mnist.1"]);
    const [first, second] = specs;
    expect(first?.body.Entrypoint).toEqual(["/bin/train"]);
    expect(first?.body.Cmd).toEqual(["--lr", "0.1"]);
    const attempt = ["MLOPS_RUN_ID=g1-aaaa", "MLOPS_ATTEMPT=1"];
    expect(first?.body.Env).toEqual(["EPOCHS=3", ...attempt, "WORLD_SIZE=2", "RANK=0"]);
    expect(second?.body.Env).toEqual(["EPOCHS=3", ...attempt, "WORLD_SIZE=2", "RANK=1"]);
    expect(first?.body.HostConfig).toMatchObject({
      NanoCpus: 1_500_000_000,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      ShmSize: 64 * 1024 * 1024,
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
      Init: true,
    });
    expect(first?.body.ExposedPorts).toEqual({ "8000/tcp": {} });
    expect(second?.body.Labels).toMatchObject({
      [LABEL.managedBy]: "mlops-operator",
      [LABEL.ownerId]: "owner-a",
      [LABEL.key]: "TrainingJob/default/mnist",
      [LABEL.generation]: "1",
      [LABEL.runId]: "g1-aaaa",
      [LABEL.specHash]: "spec-1",
      [LABEL.runSpecHash]: "run-1",
      [LABEL.replica]: "1",
      [LABEL.replicas]: "2",
      [LABEL.metricsPort]: "8000",
      "mlops.dev/test": "true",
    });
  });

  it("keeps the image's entrypoint and command when the spec gives none", () => {
    const [only] = renderRun(runRequest());
    expect(only?.body.Entrypoint).toBeUndefined();
    expect(only?.body.Cmd).toBeUndefined();
    expect(only?.body.NetworkingConfig).toBeUndefined();
  });

  it("mounts named volumes and host paths, read-only where asked, and joins a network", () => {
    const run = runRequest(
      {},
      {
        volumes: [
          { name: "datasets", mountPath: "/data", readOnly: true },
          { hostPath: "/srv/ckpt", mountPath: "/ckpt", readOnly: false },
        ],
        resources: { cpu: 500, memoryMB: 64, gpus: 1 },
      },
    );
    const [only] = renderRun(run, { network: "mlops-network" });
    expect(only?.body.HostConfig?.Mounts).toEqual([
      { Type: "volume", Source: "datasets", Target: "/data", ReadOnly: true },
      { Type: "bind", Source: "/srv/ckpt", Target: "/ckpt", ReadOnly: false },
    ]);
    expect(only?.body.HostConfig?.NetworkMode).toBe("mlops-network");
    expect(only?.body.NetworkingConfig).toEqual({ EndpointsConfig: { "mlops-network": {} } });
    expect(only?.body.HostConfig?.DeviceRequests).toEqual([
      { Driver: "nvidia", Count: 1, Capabilities: [["gpu"]] },
    ]);
  });

  it.each([0, 1, 100])("backoffLimit %i → restart policy no (the operator owns retries)", (limit) => {
    const [spec] = renderRun(runRequest({}, { backoffLimit: limit }));
    expect(spec?.body.HostConfig?.RestartPolicy).toEqual({ Name: "no", MaximumRetryCount: 0 });
    expect(restartPolicyFor()).toEqual({ Name: "no", MaximumRetryCount: 0 });
  });

  it("is pure: the same request renders the same specs", () => {
    const run = runRequest({}, { replicas: 3 });
    expect(renderRun(run)).toEqual(renderRun(run));
  });
});
