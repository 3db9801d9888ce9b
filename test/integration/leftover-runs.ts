// An example's TrainingJobs run as containers named for the job (mlops.<namespace>.<name>.<replica>).
// Run by another operator on this machine (`make run`, or `mlopsctl run --dir examples/...` by hand),
// they hold the names a test's run of the same example needs, and an operator never takes over
// another's containers: the test says so at once, naming them, instead of timing out. It never
// removes them (they are not the test's).
import type Docker from "dockerode";

/** Throws naming the containers of `keys` ("TrainingJob/default/name") whose owner is not `owner`. */
export async function refuseLeftoverRuns(
  docker: Docker,
  keys: readonly string[],
  owner: string,
  what: string,
): Promise<void> {
  // One list per key: Docker requires every label filter given at once.
  const lists = await Promise.all(
    keys.map((key) => docker.listContainers({ all: true, filters: { label: [`mlops.dev/key=${key}`] } })),
  );
  const left = lists.flat().filter((c) => c.Labels["mlops.dev/owner-id"] !== owner);
  if (left.length === 0) return;
  const names = left.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id);
  const owners = [...new Set(left.map((c) => c.Labels["mlops.dev/owner-id"]))].join(", ");
  throw new Error(
    `${names.map((n, i) => `container ${n} (${left[i]?.State})`).join(", ")}: ${what} of another operator ` +
      `(owner id ${owners}); this test runs the same TrainingJobs. Remove ${names.length > 1 ? "them" : "it"} ` +
      `(docker rm -f ${names.join(" ")}) and run the test again.`,
  );
}
