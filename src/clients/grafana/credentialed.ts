// Grafana's annotation API under a basic-auth credential that can change (a stack's generated
// admin password, kept in a file): the credential is asked for before each call, and the client is
// rebuilt when it differs from the one in use. Failing to get the credential fails the call.
import { GrafanaClient, type GrafanaClientOptions } from "./client.ts";

export type AnnotationApi = Pick<GrafanaClient, "createAnnotation" | "patchAnnotation" | "findAnnotations">;

export interface BasicCredential {
  readonly user: string;
  readonly password: string;
}

export class CredentialedGrafana implements AnnotationApi {
  readonly #url: string;
  readonly #credential: () => Promise<BasicCredential>;
  readonly #options: Omit<GrafanaClientOptions, "url" | "token" | "user" | "password">;
  #current: { user: string; password: string; client: GrafanaClient } | undefined;

  /** `options.env` defaults to none: GRAFANA_* of the operator's environment are for another Grafana. */
  constructor(
    url: string,
    credential: () => Promise<BasicCredential>,
    options: Omit<GrafanaClientOptions, "url" | "token" | "user" | "password"> = {},
  ) {
    this.#url = url;
    this.#credential = credential;
    this.#options = { env: {}, ...options };
  }

  async createAnnotation(...args: Parameters<GrafanaClient["createAnnotation"]>): Promise<number> {
    return (await this.#client()).createAnnotation(...args);
  }

  async patchAnnotation(...args: Parameters<GrafanaClient["patchAnnotation"]>): Promise<void> {
    return (await this.#client()).patchAnnotation(...args);
  }

  async findAnnotations(
    ...args: Parameters<GrafanaClient["findAnnotations"]>
  ): ReturnType<GrafanaClient["findAnnotations"]> {
    return (await this.#client()).findAnnotations(...args);
  }

  async close(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.client.close();
  }

  async #client(): Promise<GrafanaClient> {
    const { user, password } = await this.#credential();
    const current = this.#current;
    if (current?.user === user && current.password === password) return current.client;
    const client = new GrafanaClient({ ...this.#options, url: this.#url, user, password });
    this.#current = { user, password, client };
    await current?.client.close();
    return client;
  }
}
