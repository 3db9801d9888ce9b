// What a command may do on the terminal it writes to: colours only on a TTY and without NO_COLOR
// (no-color.org: any non-empty value), a line that rewrites itself only on a TTY.

export interface TerminalStyle {
  /** A line may be rewritten in place (carriage return, erase line). */
  readonly live: boolean;
  readonly color: boolean;
}

export function styleOf(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): TerminalStyle {
  const tty = stream.isTTY === true;
  return { live: tty, color: tty && !env.NO_COLOR && env.TERM !== "dumb" };
}

const CODES = { red: 31, green: 32, yellow: 33 } as const;

export function paint(style: TerminalStyle, colour: keyof typeof CODES, text: string): string {
  return style.color ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

/** Moves to the start of the line and erases it (ANSI EL 2). */
export const REWRITE = "\r\x1b[2K";
