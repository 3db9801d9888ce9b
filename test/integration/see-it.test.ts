// The operator on the Nomad double with a TrainingJob and a Notifier: the webhook receives each of
// the job's phase changes once, the status page and JSON API show the job as it moves, and
// `mlopsctl wait` (reading the state directory) sees it succeed.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import { waitFor } from "../../src/cli/commands/wait.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let root = "";
let receiver: Server;
const bodies: { phase: string; previousPhase: string | null; time: string }[] = [];
const KEY = makeKey("TrainingJob", "default", "mnist");

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 1_000 });
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      bodies.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  root = await mkdtemp(join(tmpdir(), "mlops-see-it-"));
  await mkdir(join(root, "repo"));
  await mkdir(join(root, "secrets"));
  await writeFile(
    join(root, "secrets", "hook"),
    `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook\n`,
  );
  await writeFile(
    join(root, "repo", "mnist.yaml"),
    `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: mnist }
spec:
  image: registry.example/mnist:1
  resources: { cpu: 500, memoryMB: 512 }
---
apiVersion: mlops.dev/v1alpha1
kind: Notifier
metadata: { name: team }
spec:
  addressFile: hook
`,
  );
});

afterAll(async () => {
  await nomad?.close();
  await new Promise((resolve) => receiver.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe("see it", () => {
  it("notifies each transition once, and the page, the API and wait follow the job", {
    timeout: 30_000,
  }, async () => {
    const stateDir = join(root, "state");
    const op = await buildNomadOperator({
      dir: join(root, "repo"),
      stateDir,
      secretsDir: join(root, "secrets"),
      web: true,
      ownerId: `it-see-${process.pid}`,
      nomadAddr: nomad.address,
    });
    const base = `http://${await op.server.listen()}`;
    const job = () => op.source.get(KEY) as TrainingJob | undefined;
    const waiting = waitFor(
      "tj",
      "mnist",
      { stateDir, for: "phase=Succeeded", timeout: "25s" },
      {
        signal: new AbortController().signal,
        out: () => {},
        err: () => {},
        style: { live: false, color: false },
        pollMs: 100,
      },
    );
    try {
      await op.source.start();
      op.controller.start();
      const [alloc] = await until("the job registered", () => {
        const a = nomad.allocations("default", "mnist");
        return a && a.length === 1 ? a : undefined;
      });
      await until("Pending on the page", async () => {
        const page = await (await fetch(`${base}/`)).text();
        return page.includes(">mnist</a></td><td>Pending</td>") ? page : undefined;
      });
      nomad.lifecycle.running(alloc?.ID ?? "");
      await until("Running", () => job()?.status?.phase === "Running");
      nomad.lifecycle.exit(alloc?.ID ?? "", { exitCode: 0 });
      await until("Succeeded", () => job()?.status?.phase === "Succeeded");
      await waiting;
      await until("three notifications", () => bodies.length >= 3);
      await new Promise((r) => setTimeout(r, 300));
      // One resource's notifications arrive in the order of its transitions.
      expect(bodies.map((b) => `${b.previousPhase}→${b.phase}`)).toEqual([
        "null→Pending",
        "Pending→Running",
        "Running→Succeeded",
      ]);
      const api = await until("the API's Notifier Ready", async () => {
        const list = (await (await fetch(`${base}/api/v1/notifiers`)).json()) as {
          items: { status?: { conditions?: { type: string; status: string }[] } }[];
        };
        return list.items[0]?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
          ? list
          : undefined;
      });
      expect(api.items).toHaveLength(1);
      const jobs = (await (await fetch(`${base}/api/v1/trainingjobs`)).json()) as { items: TrainingJob[] };
      expect(jobs.items[0]?.status?.phase).toBe("Succeeded");
    } finally {
      await op.controller.stop();
      await op.close();
    }
  });
});
