// How an error appears in a log line: what it is (type, reason), the error's code (ECONNREFUSED)
// and its message on one line, with the message of its cause when that adds something. Never a
// stack, a socket (undici's SocketError carries local and remote addresses, bytes written), a
// request or a response: an outage logs one short line per attempt, not a screenful.

export interface LoggedError {
  type: string;
  reason?: string;
  code?: string;
  message: string;
}

const MAX_MESSAGE = 500;

export function errorForLog(error: unknown): LoggedError | string {
  if (!(error instanceof Error)) return oneLine(typeof error === "string" ? error : safeString(error));
  const out: LoggedError = { type: error.name, message: "" };
  const reason = (error as { reason?: unknown }).reason;
  if (typeof reason === "string") out.reason = reason;
  const cause = (error as { cause?: unknown }).cause;
  const code = codeInChain(error);
  if (code) out.code = code;
  let message = error.message;
  if (cause instanceof Error && cause.message && !message.includes(cause.message)) {
    message = `${message}: ${cause.message}`;
  }
  out.message = oneLine(message);
  return out;
}

/** The first code along the cause chain (fetch wraps the socket error that has it), 5 deep at most. */
function codeInChain(error: Error): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = codeOf(current);
    if (code) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function codeOf(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" || typeof code === "number" ? String(code) : undefined;
}

function oneLine(text: string): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, " ⏎ ");
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}…` : line;
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "unprintable value";
  }
}
