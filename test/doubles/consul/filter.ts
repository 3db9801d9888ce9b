// Server: Consul 1.20.2, hashicorp/consul. Follows: github.com/hashicorp/go-bexpr (grammar),
// agent/structs/structs.go (filterable fields).
// A subset of Consul's `filter=` language (hashicorp/go-bexpr), enough for what clients send:
//   Selector == "v" | != | "v" in Selector | "v" not in Selector | Selector contains "v" |
//   Selector not contains "v" | Selector is empty | Selector is not empty | Selector matches "re" |
//   Selector not matches "re" | and | or | not | ( ... )
// Selectors are dotted paths (`ServiceMeta.mlops_name`); `in` on a list is membership, on a map key
// presence, on a string a substring. A selector outside the endpoint's schema is an error, as in
// Consul (400 "Failed to create boolean expression evaluator: ...").

export type Predicate = (item: unknown) => boolean;

export class FilterError extends Error {}

type Token =
  | { kind: "value"; text: string }
  | { kind: "word"; text: string }
  | { kind: "op"; text: "==" | "!=" | "(" | ")" };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "(" || c === ")") {
      tokens.push({ kind: "op", text: c });
      i++;
    } else if ((c === "=" || c === "!") && source[i + 1] === "=") {
      tokens.push({ kind: "op", text: c === "=" ? "==" : "!=" });
      i += 2;
    } else if (c === '"') {
      let text = "";
      i++;
      while (i < source.length && source[i] !== '"') {
        if (source[i] === "\\" && i + 1 < source.length) i++;
        text += source[i];
        i++;
      }
      if (i >= source.length) throw new FilterError(`1:${i}: unterminated string`);
      i++;
      tokens.push({ kind: "value", text });
    } else if (c === "`") {
      const end = source.indexOf("`", i + 1);
      if (end < 0) throw new FilterError(`1:${i}: unterminated raw string`);
      tokens.push({ kind: "value", text: source.slice(i + 1, end) });
      i = end + 1;
    } else {
      const match = /^[^\s()"`=!]+/.exec(source.slice(i));
      if (!match) throw new FilterError(`1:${i + 1}: unexpected character ${JSON.stringify(c)}`);
      tokens.push({ kind: "word", text: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

/** Compiles an expression; `selectors` lists the valid first path segments of the endpoint. */
export function compileFilter(source: string, selectors: readonly string[]): Predicate {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isWord = (text: string, offset = 0): boolean => {
    const t = tokens[pos + offset];
    return t?.kind === "word" && t.text.toLowerCase() === text;
  };

  const selector = (token: Token | undefined): string[] => {
    if (token?.kind !== "word") throw new FilterError(`expected a selector at token ${pos}`);
    const path = token.text.split(".");
    if (!selectors.includes(path[0] as string)) {
      throw new FilterError(`Selector ${JSON.stringify(token.text)} is not valid`);
    }
    return path;
  };
  const value = (token: Token | undefined): string => {
    if (token === undefined || token.kind === "op") throw new FilterError(`expected a value at token ${pos}`);
    return token.text;
  };

  const primary = (): Predicate => {
    if (isWord("not")) {
      pos++;
      const inner = primary();
      return (item) => !inner(item);
    }
    const first = peek();
    if (first?.kind === "op" && first.text === "(") {
      pos++;
      const inner = or();
      const close = tokens[pos++];
      if (close?.kind !== "op" || close.text !== ")") throw new FilterError("expected )");
      return inner;
    }
    // value [not] in Selector
    if (isWord("in", 1) || (isWord("not", 1) && isWord("in", 2))) {
      const needle = value(tokens[pos++]);
      const negate = isWord("not");
      pos += negate ? 2 : 1;
      const path = selector(tokens[pos++]);
      return (item) => contains(resolve(item, path), needle) !== negate;
    }
    const path = selector(tokens[pos++]);
    const op = tokens[pos++];
    if (op?.kind === "op" && (op.text === "==" || op.text === "!=")) {
      const expected = value(tokens[pos++]);
      const negate = op.text === "!=";
      return (item) => equals(resolve(item, path), expected) !== negate;
    }
    if (op?.kind === "word") {
      const word = op.text.toLowerCase();
      if (word === "is") {
        const negate = isWord("not");
        if (negate) pos++;
        if (!isWord("empty")) throw new FilterError("expected empty after is");
        pos++;
        return (item) => isEmpty(resolve(item, path)) !== negate;
      }
      const negate = word === "not";
      const verb = negate ? (tokens[pos++]?.text ?? "").toLowerCase() : word;
      if (verb === "contains") {
        const needle = value(tokens[pos++]);
        return (item) => contains(resolve(item, path), needle) !== negate;
      }
      if (verb === "matches") {
        const re = new RegExp(value(tokens[pos++]));
        return (item) => {
          const v = resolve(item, path);
          return (typeof v === "string" && re.test(v)) !== negate;
        };
      }
    }
    throw new FilterError(`unexpected token ${JSON.stringify(op?.text ?? "end of input")}`);
  };
  const and = (): Predicate => {
    let left = primary();
    while (isWord("and")) {
      pos++;
      const l = left;
      const r = primary();
      left = (item) => l(item) && r(item);
    }
    return left;
  };
  const or = (): Predicate => {
    let left = and();
    while (isWord("or")) {
      pos++;
      const l = left;
      const r = and();
      left = (item) => l(item) || r(item);
    }
    return left;
  };

  const predicate = or();
  if (pos !== tokens.length) throw new FilterError(`unexpected token at ${pos}`);
  return predicate;
}

function resolve(item: unknown, path: readonly string[]): unknown {
  let current = item;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function equals(actual: unknown, expected: string): boolean {
  if (typeof actual === "string") return actual === expected;
  if (typeof actual === "number" || typeof actual === "boolean") return String(actual) === expected;
  return false;
}

function contains(haystack: unknown, needle: string): boolean {
  if (Array.isArray(haystack)) return haystack.includes(needle);
  if (typeof haystack === "string") return haystack.includes(needle);
  if (haystack !== null && typeof haystack === "object") return Object.hasOwn(haystack, needle);
  return false;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}
