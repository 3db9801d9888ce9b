// The files shipped beside the code: the CRDs, the manifests and package.json, found from this
// module's own URL. Two folders below the project's root, in the sources (src/api/) as in the
// bundled build (dist/cli/, where every chunk lives: rolldown.config.ts), so one relative URL holds
// for both. A module at another depth asks here instead of writing its own "../".
const ROOT = new URL("../../", import.meta.url);
export const CRD_DIR = new URL("crds/", ROOT);
export const MANIFESTS_URL = new URL("manifests/", ROOT);
export const PACKAGE_JSON = new URL("package.json", ROOT);
