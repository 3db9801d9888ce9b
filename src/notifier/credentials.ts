// Where a Notifier's address and signing key come from, read when used and never kept, logged or
// written to status: spec.address itself; spec.addressFile and spec.signingKeyFile, files under the
// operator's --secrets-dir (one trailing newline dropped); spec.secretRef and spec.signingKeySecretRef,
// a key of a Secret in the Notifier's namespace read through the Kubernetes API (Kubernetes mode only;
// in directory mode they are InvalidSpec, naming the field to use instead). Messages name the field,
// the file or the Secret and key, never what they hold.
import { InvalidSpecError, OperatorError } from "../api/errors.ts";
import { isHttpUrl } from "../api/notifier-rules.ts";
import type { Notifier } from "../api/resources.ts";
import { readFileRef, type SecretGetter, SecretInvalidError, SecretNotFoundError } from "../secrets/index.ts";

export interface NotifierSecrets {
  /** `--secrets-dir`: where addressFile and signingKeyFile are read. */
  readonly secretsDir?: string;
  /** Kubernetes mode: reads a Secret for secretRef and signingKeySecretRef. */
  readonly kubernetes?: SecretGetter;
}

export interface Credentials {
  readonly address: string;
  /** The HMAC-SHA256 key, when the Notifier asks for signed requests. */
  readonly signingKey?: Buffer;
}

/** The address (spec.addressFile, spec.secretRef) does not hold an http(s) URL. */
export class InvalidAddressError extends OperatorError {
  constructor(message: string) {
    super("InvalidAddress", message);
    this.name = "InvalidAddressError";
  }
}

type SecretRef = { readonly name: string; readonly key: string };

/** Reads what the Notifier's spec names; throws SecretNotFound, SecretInvalid, InvalidAddress or InvalidSpec. */
export async function credentialsOf(notifier: Notifier, secrets: NotifierSecrets): Promise<Credentials> {
  const { spec } = notifier;
  const namespace = notifier.metadata.namespace;
  let address: string;
  if (spec.address !== undefined) address = spec.address;
  else if (spec.secretRef !== undefined)
    address = (await secretKey(secrets, namespace, spec.secretRef, "secretRef", "addressFile")).trim();
  else {
    address = (await file(secrets, spec.addressFile ?? "", "addressFile")).trim();
    if (!isHttpUrl(address))
      throw new InvalidAddressError(`spec.addressFile "${spec.addressFile}" does not hold an http(s) URL`);
  }
  if (spec.secretRef !== undefined && !isHttpUrl(address))
    throw new InvalidAddressError(
      `spec.secretRef: Secret "${spec.secretRef.name}" key "${spec.secretRef.key}" does not hold an http(s) URL`,
    );
  let key: string | undefined;
  let named = "";
  if (spec.signingKeyFile !== undefined) {
    named = `spec.signingKeyFile: file "${spec.signingKeyFile}"`;
    key = await file(secrets, spec.signingKeyFile, "signingKeyFile");
  } else if (spec.signingKeySecretRef !== undefined) {
    const ref = spec.signingKeySecretRef;
    named = `spec.signingKeySecretRef: Secret "${ref.name}" key "${ref.key}" in namespace ${namespace}`;
    key = dropNewline(await secretKey(secrets, namespace, ref, "signingKeySecretRef", "signingKeyFile"));
  }
  if (key === undefined) return { address };
  if (key === "") throw new SecretInvalidError(`${named}: the signing key is empty`);
  return { address, signingKey: Buffer.from(key, "utf8") };
}

async function file(secrets: NotifierSecrets, path: string, field: string): Promise<string> {
  if (!secrets.secretsDir)
    throw new SecretNotFoundError(`spec.${field} "${path}" needs the operator's --secrets-dir`);
  return readFileRef(secrets.secretsDir, { path }, `spec.${field}`);
}

async function secretKey(
  secrets: NotifierSecrets,
  namespace: string,
  ref: SecretRef,
  field: string,
  instead: string,
): Promise<string> {
  if (!secrets.kubernetes)
    throw new InvalidSpecError(
      [{ path: ["spec", field], message: `needs the Kubernetes source: use spec.${instead}` }],
      `spec.${field} needs the operator to run with --source kubernetes; from a directory use spec.${instead} (a file under --secrets-dir)`,
    );
  const named = `spec.${field}: Secret "${ref.name}" key "${ref.key}" in namespace ${namespace}`;
  const data = await secrets.kubernetes(namespace, ref.name);
  if (!data) throw new SecretNotFoundError(`${named}: no such Secret`);
  if (!Object.hasOwn(data, ref.key)) throw new SecretNotFoundError(`${named}: no such key in the Secret`);
  return data[ref.key] ?? "";
}

const dropNewline = (text: string): string => (text.endsWith("\n") ? text.slice(0, -1) : text);
