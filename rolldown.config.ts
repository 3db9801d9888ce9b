// The build users run (`npm run build`, the operator images): mlopsctl and the state I/O worker's
// body bundled from the TypeScript sources into dist/cli/ (main.js, io-worker-thread.js and the
// chunks the commands' lazy imports split off), minified, with their dependencies. One bundle
// instead of ~770 modules: an operator over an empty directory starts in half the CPU and
// holds ~3.5 MB less heap (module records, sources and their functions' metadata), a converge of
// 10,000 jobs ~4 MB less live (docs/benchmarks.md, round 25). Types are checked by `tsc -p .`.
//
// Left out and loaded from node_modules as before: dockerode and the Kubernetes client (imported
// only when a Docker scheduler or the Kubernetes source is in play, and dockerode's ssh2 carries
// native code), pino (its pretty transport starts thread-stream's worker from a path beside
// thread-stream's own file), and undici, whose two files src/clients/undici.ts loads by require.
//   MLOPS_BUNDLE_DIR=DIR  another output directory (images/operator/build.sh), two levels below a
//                         directory that holds crds/, manifests/ and package.json (src/api/paths.ts)
//   MLOPS_BUNDLE_SOURCEMAP=false  no source maps (the images)
import { defineConfig } from "rolldown";

const EXTERNAL = ["dockerode", "@kubernetes/client-node", "pino", "pino-pretty", "thread-stream", "undici"];

export default defineConfig({
  input: {
    main: "src/cli/main.ts",
    // io-worker.ts starts it by URL, next to the chunk that asks: the same directory.
    "io-worker-thread": "src/sources/state/io-worker-thread.ts",
  },
  platform: "node",
  external: (id) => EXTERNAL.some((name) => id === name || id.startsWith(`${name}/`)),
  output: {
    dir: process.env.MLOPS_BUNDLE_DIR ?? "dist/cli",
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "[name]-[hash].js",
    minify: true,
    // Non-ASCII characters escaped ("\u2192" for the arrow of "New → Pending"): one such character
    // makes V8 keep the chunk's whole source as a two-byte string, twice its size in the heap.
    charset: "ascii",
    // Class and function names as written: errors' names, stack traces, heap snapshots by class.
    keepNames: true,
    sourcemap: process.env.MLOPS_BUNDLE_SOURCEMAP !== "false",
  },
});
