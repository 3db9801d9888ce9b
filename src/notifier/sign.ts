// Signed requests (spec.signingKeyFile, spec.signingKeySecretRef): the receiver can tell a request
// came from this operator and was not replayed. As Stripe and Slack do, the signed content is the
// timestamp, a ".", then the exact body bytes; the signature travels as GitHub's does:
//   X-Mlops-Timestamp: <Unix seconds when the attempt was made>
//   X-Mlops-Signature-256: sha256=<lowercase hex HMAC-SHA256(key, timestamp + "." + body)>
// Each attempt is signed anew (a retry carries its own timestamp; the body is the same bytes).
import { createHmac } from "node:crypto";

export const TIMESTAMP_HEADER = "X-Mlops-Timestamp";
export const SIGNATURE_HEADER = "X-Mlops-Signature-256";

export function signatureHeaders(key: Buffer, body: Buffer, now: Date): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const mac = createHmac("sha256", key).update(`${timestamp}.`).update(body).digest("hex");
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `sha256=${mac}` };
}
