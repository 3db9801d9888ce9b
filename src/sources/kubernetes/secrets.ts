// Reads a Secret for valueFrom.secretKeyRef: GET /api/v1/namespaces/{ns}/secrets/{name}, the only
// call that needs `get` on secrets (manifests/kubernetes/clusterrole.yaml). The data is decoded from
// base64 and handed to the secret resolver; nothing of it is logged or kept. A 404 is "no such
// Secret" (undefined); any other failure is a KubernetesError naming the Secret, never its data.
import { STATUS_CODES } from "node:http";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { externalRequestDuration, externalRequests } from "../../observability/metrics.ts";
import { KubernetesError, parseStatus } from "./api.ts";

const ENDPOINT = "get secrets";

export class KubernetesSecretReader {
  readonly #api: CoreV1Api;
  readonly #server: string;

  constructor(config: KubeConfig) {
    this.#api = config.makeApiClient(CoreV1Api);
    this.#server = config.getCurrentCluster()?.server ?? "(no cluster)";
  }

  /** The Secret's data, decoded; undefined when it does not exist. */
  async get(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const stop = externalRequestDuration.startTimer({ system: "kubernetes", endpoint: ENDPOINT });
    try {
      const secret = await this.#api.readNamespacedSecret({ name, namespace });
      externalRequests.inc({ system: "kubernetes", endpoint: ENDPOINT, code: "2xx" });
      const out: Record<string, string> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) {
        out[key] = Buffer.from(value, "base64").toString("utf8");
      }
      return out;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const status = typeof code === "number" ? code : 0;
      externalRequests.inc({
        system: "kubernetes",
        endpoint: ENDPOINT,
        code: status ? String(status) : "error",
      });
      if (status === 404) return undefined;
      const said = parseStatus((error as { body?: unknown }).body);
      const reason = said?.reason ?? (status ? STATUS_CODES[status]?.replace(/\s+/g, "") : undefined);
      const detail = said?.message ?? (error instanceof Error ? error.message.split("\n")[0] : String(error));
      const message = `kubernetes ${this.#server}: GET secrets ${namespace}/${name}: ${status || ""}${reason ? ` ${reason}` : ""}: ${detail}`;
      throw new KubernetesError(status, reason, message, error);
    } finally {
      stop();
    }
  }
}
