// `mlopsctl run` on its state directory, as users run it (bin/mlopsctl against the Nomad double): a
// garbage lock file and leftover temporary files from a killed writer do not stop it; a live holder
// is exit 75 naming its pid; a state directory of a newer format is exit 1 naming the file, with
// nothing changed.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLock } from "../../src/sources/state/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { startOperator } from "../safety/operator-process.ts";

let nomad: NomadDouble;
let root = "";

beforeAll(async () => {
  nomad = await startNomadDouble();
  root = await mkdtemp(join(tmpdir(), "mlops-cli-state-"));
  await mkdir(join(root, "jobs"));
  await writeFile(
    join(root, "jobs", "a.yaml"),
    "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: { name: a }\nspec:\n  image: registry.example/a:1\n",
  );
});
afterAll(async () => {
  await nomad?.close();
  await rm(root, { recursive: true, force: true });
});

const once = (stateDir: string) => {
  const op = startOperator(
    {
      dir: join(root, "jobs"),
      stateDir,
      nomadAddr: nomad.address,
      ownerId: "cli-state",
      env: { DOCKER_HOST: `unix://${join(root, "no-docker.sock")}` },
    },
    true,
  );
  return op.exited.then((code) => ({ code, output: op.lines.join("\n") }));
};

describe("mlopsctl run and its state directory", () => {
  it("takes over a garbage lock file and removes a killed writer's temporary files", async () => {
    const stateDir = join(root, "state-garbage");
    await mkdir(join(stateDir, "status", "trainingjob", "default"), { recursive: true });
    await writeFile(join(stateDir, "lock"), "\u0000\u0001 not a lock");
    await writeFile(join(stateDir, "status", "trainingjob", "default", ".a.json.999.3f.tmp"), '{"api');
    const { code, output } = await once(stateDir);
    expect(code, output).toBe(0);
    expect(await readdir(join(stateDir, "status", "trainingjob", "default"))).toEqual(["a.json"]);
    expect(JSON.parse(await readFile(join(stateDir, "format.json"), "utf8"))).toEqual({ format: 4 });
  });

  it("is exit 75 naming a live holder", async () => {
    const stateDir = join(root, "state-held");
    const lock = await acquireLock(stateDir);
    try {
      const { code, output } = await once(stateDir);
      expect(code).toBe(75);
      expect(output).toContain(`locked by pid ${process.pid} on host`);
    } finally {
      await lock.release();
    }
  });

  it("refuses a newer state format with exit 1 naming the file, changing nothing", async () => {
    const stateDir = join(root, "state-newer");
    await mkdir(stateDir, { recursive: true });
    await writeFile(join(stateDir, "format.json"), '{"format":9}\n');
    const { code, output } = await once(stateDir);
    expect(code).toBe(1);
    expect(output).toContain(`${join(stateDir, "format.json")}: state directory format 9 is newer`);
    expect((await readdir(stateDir)).sort()).toEqual(["format.json"]);
  });
});
