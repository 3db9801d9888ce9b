export { SecretInvalidError, SecretNotFoundError } from "./errors.ts";
export type { FileRef } from "./file.ts";
export { describeFileRef, readFileRef } from "./file.ts";
export type { ResolvedSecrets, SecretGetter, SecretResolverOptions } from "./resolver.ts";
export { SecretResolver } from "./resolver.ts";
