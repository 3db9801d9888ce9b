// A Docker connection made on its first call. `mlopsctl run` hands one to everything that may use
// Docker (the Docker scheduler, the MlopsStack reconciler, the owned-container event stream, the
// readiness probe); dockerode is imported and the API version negotiated only when one of them
// calls the engine, so an operator whose runs go to Nomad and that declares no MlopsStack never
// loads it. Connecting never fails: an engine that does not answer makes the calls report
// DockerUnavailable until it does; a connection made while the engine did not answer its version
// probe is used for one call only, and the next call connects (and negotiates) again.
import {
  type ConnectedDocker,
  connectDocker,
  type DockerConnection,
  type DockerConnectOptions,
  dockerTarget,
} from "./connect.ts";
import { dockerError } from "./errors.ts";

export interface LazyDocker extends DockerConnection {
  /** True once a call has started the connection (dockerode imported or being imported). */
  readonly started: boolean;
}

/** `connect` is connectDocker unless a test counts connections. */
export function lazyDocker(
  options: DockerConnectOptions = {},
  connect: (options: DockerConnectOptions) => Promise<ConnectedDocker> = connectDocker,
): LazyDocker {
  const target = dockerTarget(options.host);
  let connection: Promise<ConnectedDocker> | undefined;
  return {
    target,
    get started() {
      return connection !== undefined;
    },
    async call(endpoint, what, fn) {
      // One connection for all callers, however many call at once.
      connection ??= connect(options);
      let connected: ConnectedDocker;
      try {
        connected = await connection;
      } catch (error) {
        // connectDocker itself does not fail; its import can (a broken install): tried again next call.
        connection = undefined;
        throw dockerError(error, what, target);
      }
      // The engine did not answer the version probe: speak the pin this once, negotiate next time.
      if (connected.negotiated === false && connection !== undefined) connection = undefined;
      return connected.call(endpoint, what, fn);
    },
  };
}
