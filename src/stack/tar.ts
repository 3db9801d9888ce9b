// A minimal in-memory tar writer (POSIX ustar) for Docker's archive API: the stack's generated
// configuration is copied into each container with owner, group and mode set per entry, so each
// component's non-root user owns what it reads. Directories and regular files only.

export interface TarEntry {
  /** Path inside the archive, relative (no leading '/'); directories may end with '/'. */
  readonly path: string;
  readonly type: "file" | "directory";
  readonly content?: string | Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch; fixed by default so the same input gives the same bytes. */
  readonly mtime?: number;
}

const BLOCK = 512;

function writeString(header: Buffer, value: string, offset: number, length: number): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar: "${value}" is longer than ${length} bytes`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  const text = value.toString(8).padStart(length - 1, "0");
  if (text.length > length - 1) throw new Error(`tar: ${value} does not fit in ${length - 1} octal digits`);
  writeString(header, `${text}\0`, offset, length);
}

/** Splits a long path into ustar's prefix (155) and name (100) fields. */
function splitPath(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: "", name: path };
  const cut = path.lastIndexOf("/", path.length - 2);
  const prefix = path.slice(0, cut);
  const name = path.slice(cut + 1);
  if (cut <= 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(name) > 100) {
    throw new Error(`tar: path "${path}" is too long for ustar`);
  }
  return { prefix, name };
}

function header(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const path = entry.type === "directory" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
  const { prefix, name } = splitPath(path);
  writeString(h, name, 0, 100);
  writeOctal(h, entry.mode & 0o7777, 100, 8);
  writeOctal(h, entry.uid, 108, 8);
  writeOctal(h, entry.gid, 116, 8);
  writeOctal(h, size, 124, 12);
  writeOctal(h, entry.mtime ?? 0, 136, 12);
  h.fill(" ", 148, 156); // checksum field counts as spaces while summing
  h.write(entry.type === "directory" ? "5" : "0", 156, "latin1");
  writeString(h, "ustar\0", 257, 6);
  writeString(h, "00", 263, 2);
  writeString(h, prefix, 345, 155);
  let sum = 0;
  for (const byte of h) sum += byte;
  writeString(h, `${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

/** Builds a whole tar archive (with the two zero blocks that end it). */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.path.startsWith("/") || entry.path.split("/").includes("..")) {
      throw new Error(`tar: entry path "${entry.path}" must be relative and must not contain '..'`);
    }
    const body =
      entry.type === "file"
        ? typeof entry.content === "string"
          ? Buffer.from(entry.content, "utf8")
          : (entry.content ?? Buffer.alloc(0))
        : Buffer.alloc(0);
    parts.push(header(entry, body.length));
    if (body.length > 0) {
      parts.push(body);
      const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
