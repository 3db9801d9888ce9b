// TLS in front of any double: a test CA made with openssl (no shell; files in a temporary directory),
// server certificates for 127.0.0.1 and a name, one that expired in 2020, and a TLS terminator that
// forwards each connection to a double's plain port (so request/response, blocking queries and
// streams all cross TLS exactly as they would to a real server with TLS on).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  /** A CA the servers do not use: trusting it is trusting the wrong authority. */
  readonly otherCaFile: string;
  readonly server: { readonly cert: string; readonly key: string };
  readonly expired: { readonly cert: string; readonly key: string };
  readonly client: { readonly certFile: string; readonly keyFile: string };
  close(): void;
}

const openssl = (dir: string, args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

/** A CA and certificates for `name` and 127.0.0.1: valid, expired, and a client certificate. */
export function makePki(name = "double.test"): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "mlops-pki-"));
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-subj",
    "/CN=mlops test CA",
    "-days",
    "2",
  ]);
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "other.key",
    "-out",
    "other.pem",
    "-subj",
    "/CN=other CA",
    "-days",
    "2",
  ]);
  writeFileSync(join(dir, "server.ext"), `subjectAltName=DNS:${name},IP:127.0.0.1\n`);
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const who of ["server", "client"]) {
    openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${who}.key`,
      "-out",
      `${who}.csr`,
      "-subj",
      `/CN=${who === "server" ? name : "mlops-operator"}`,
    ]);
    openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      who === "server" ? "2" : "3",
      "-out",
      `${who}.pem`,
      "-days",
      "1",
      "-extfile",
      `${who}.ext`,
    ]);
  }
  // An expired certificate needs explicit dates: `openssl ca` with a minimal configuration.
  mkdirSync(join(dir, "db"));
  writeFileSync(join(dir, "db", "index"), "");
  writeFileSync(join(dir, "db", "serial"), "04\n");
  writeFileSync(
    join(dir, "ca.cnf"),
    "[ca]\ndefault_ca=c\n[c]\ndatabase=db/index\nnew_certs_dir=db\nserial=db/serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n",
  );
  openssl(dir, [
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.pem",
    "-keyfile",
    "ca.key",
    "-in",
    "server.csr",
    "-out",
    "expired.pem",
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
    "-extfile",
    "server.ext",
  ]);
  const read = (file: string) => readFileSync(join(dir, file), "utf8");
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    otherCaFile: join(dir, "other.pem"),
    server: { cert: read("server.pem"), key: read("server.key") },
    expired: { cert: read("expired.pem"), key: read("server.key") },
    client: { certFile: join(dir, "client.pem"), keyFile: join(dir, "client.key") },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsTerminator {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** TLS handshakes attempted (to tell a retry loop from one attempt). */
  readonly connections: number;
  close(): Promise<void>;
}

/** Terminates TLS with `cert` and forwards each connection to 127.0.0.1:`port` (a double). */
export async function terminateTls(
  port: number,
  cert: { readonly cert: string; readonly key: string },
  options: { readonly requireClientCertFrom?: string } = {},
): Promise<TlsTerminator> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer(
    {
      cert: cert.cert,
      key: cert.key,
      ...(options.requireClientCertFrom
        ? { ca: readFileSync(options.requireClientCertFrom), requestCert: true, rejectUnauthorized: true }
        : {}),
    },
    (socket) => {
      const upstream = connect(port, "127.0.0.1");
      sockets.add(upstream);
      socket.pipe(upstream).pipe(socket);
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
    },
  );
  server.on("connection", (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${bound}`,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
