// Creating the stack's network when its name is already taken (real Docker engine): the daemon
// answers 409 (and libnetwork 403 when two creates race, moby libnetwork NetworkNameError); a network
// carrying this stack's owner and key labels is the stack's own and "exists", any other is a
// NameConflict. Names, labels and subnets are this test's own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDocker, type DockerConnection } from "../../src/clients/docker/connect.ts";
import { stackDocker } from "../../src/stack/docker.ts";
import { LABELS } from "../../src/stack/model.ts";

const NAME = `nomad-wire-net-${process.pid}`;
const TEST_LABEL = "mlops.dev/test-nomad-wire";
let conn: DockerConnection;

const desired = (owner: string) => ({
  name: NAME,
  subnet: "172.29.231.0/24",
  gateway: "172.29.231.1",
  specHash: "test",
  labels: { [LABELS.ownerId]: owner, [LABELS.key]: "MlopsStack/default/ml", [TEST_LABEL]: "1" },
});

async function remove(): Promise<void> {
  await conn.call("/networks/{id}", "removing", (d) => d.getNetwork(NAME).remove()).catch(() => undefined);
}

beforeAll(async () => {
  conn = await connectDocker();
  await remove();
});
afterAll(async () => {
  await remove();
});

describe("stack network creation when the name is taken", () => {
  it("a network already there with this stack's labels exists; another owner's is a NameConflict", async () => {
    const docker = stackDocker(conn);
    await docker.createNetwork(desired("owner-a"));
    await expect(docker.createNetwork(desired("owner-a"))).resolves.toBeUndefined();
    await expect(docker.createNetwork(desired("owner-b"))).rejects.toMatchObject({ reason: "NameConflict" });
    const networks = (await conn.call("/networks", "listing", (d) =>
      d.listNetworks({ filters: { name: [NAME] } }),
    )) as { Name: string }[];
    expect(networks.filter((n) => n.Name === NAME)).toHaveLength(1);
  });
});
