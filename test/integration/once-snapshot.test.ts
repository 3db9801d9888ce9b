// `run --once` reads Nomad's state once, at the start of its pass (the lists), and opens no event
// stream: a new job costs its register alone, a second pass over unchanged jobs reads nothing per
// job, and what changes during a pass is the next pass's (docs/nomad.md, "The read cache"). The
// watching operator follows the stream.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { buildNomadOperator, passOnce } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let dir = "";
const owner = `it-once-${process.pid}`;
const NAMES = ["alpha", "beta", "gamma"];

const job = (name: string, image = `registry.example/${name}:1`) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata:
  name: ${name}
spec:
  image: ${image}
`;

/** The requests the double recorded since `from`: stream opens, job writes, single-job reads. */
function requestsSince(from: number) {
  const made = nomad.requests.slice(from);
  return {
    streams: made.filter((r) => r.path === "/v1/event/stream").length,
    registers: made.filter(
      (r) => (r.method === "POST" || r.method === "PUT") && /^\/v1\/jobs?(\/|$)/.test(r.path),
    ).length,
    jobReads: made.filter((r) => r.method === "GET" && /^\/v1\/job\/[^/]+$/.test(r.path)).length,
  };
}

async function once() {
  const op = await buildNomadOperator({ dir, once: true, ownerId: owner, nomadAddr: nomad.address });
  expect((await passOnce(op)).failed).toEqual([]);
}

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 200 });
});
afterAll(async () => {
  await nomad?.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-once-"));
  for (const name of NAMES) await writeFile(join(dir, `${name}.yaml`), job(name));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("run --once and Nomad's event stream", () => {
  it("opens none: each new job is its register alone; a second pass registers and reads no job; a changed spec is registered", async () => {
    let from = nomad.requests.length;
    await once();
    expect(requestsSince(from)).toEqual({ streams: 0, registers: NAMES.length, jobReads: 0 });
    for (const name of NAMES) expect(nomad.state.job("default", name)).toBeDefined();

    from = nomad.requests.length;
    await once();
    expect(requestsSince(from)).toEqual({ streams: 0, registers: 0, jobReads: 0 });

    await writeFile(join(dir, "beta.yaml"), job("beta", "registry.example/beta:2"));
    from = nomad.requests.length;
    await once();
    expect(requestsSince(from)).toMatchObject({ streams: 0, registers: 1 });
  });

  it("the watching operator follows the stream", async () => {
    const from = nomad.requests.length;
    const op = await buildNomadOperator({ dir, ownerId: owner, nomadAddr: nomad.address });
    try {
      await op.source.start();
      op.controller.start();
      const deadline = Date.now() + 10_000;
      while (requestsSince(from).streams === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(requestsSince(from).streams).toBe(1);
    } finally {
      await op.controller.stop();
      await op.close();
    }
  });
});
