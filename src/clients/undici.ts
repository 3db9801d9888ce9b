// The part of undici the operator uses: an Agent and the request API over a dispatcher. undici's
// entry module loads all of undici (fetch, WebSocket, EventSource, the HTTP caches and their SQLite
// store, the mocks): 109 modules and ~13 MB of RSS in every process that imports it, against 27
// modules for these two files. undici has no exports map, so its files are importable; the test
// (test/clients/undici.test.ts) holds them to what its entry module exports.
import { createRequire } from "node:module";
import type { Dispatcher, Agent as UndiciAgent } from "undici";

const load = createRequire(import.meta.url);

type RequestApi = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

export const Agent = load("undici/lib/dispatcher/agent.js") as typeof UndiciAgent;
const requestApi = load("undici/lib/api/api-request.js") as RequestApi;

/**
 * The dispatcher of requests that name none: this undici's, not the global one. Node 24 sets the
 * global dispatcher to an Agent of its own bundled undici (7.x) as soon as an ES module imports
 * node:http (the namespace reads http.WebSocket, whose getter loads it), so "the global one" was
 * not the undici this project depends on.
 */
let shared: Dispatcher | undefined;

export type RequestOptions = Omit<Dispatcher.RequestOptions, "origin" | "path"> & { dispatcher?: Dispatcher };

/** undici's `request(url, options)`: through `dispatcher`, else this module's Agent. */
export function request(url: string | URL, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  shared ??= new Agent();
  const { dispatcher = shared, ...rest } = options;
  const target = typeof url === "string" ? new URL(url) : url;
  return requestApi.call(dispatcher, {
    ...rest,
    origin: target.origin,
    path: target.pathname + target.search,
  });
}
