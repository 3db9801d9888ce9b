// Maps a JSON path inside a parsed document to a line and column. A path that does not exist (a
// missing required field) points at its nearest existing ancestor: the key that opens the parent
// mapping, so `spec.image is required` lands on the `spec:` line.
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";

export interface Position {
  line: number;
  col: number;
}

export function locate(doc: Document, lines: LineCounter, path: readonly (string | number)[]): Position {
  let node: unknown = doc.contents;
  // Where to point for the deepest part found: a mapping entry's key, or the node itself.
  let anchor: Node | undefined = isNode(node) ? node : undefined;
  for (const part of path) {
    node = resolve(doc, node);
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part),
      );
      if (!pair) break;
      anchor = isNode(pair.key) ? pair.key : anchor;
      node = pair.value;
    } else if (isSeq(node) && typeof part === "number") {
      const item = node.items[part];
      if (item === undefined) break;
      node = item;
      anchor = isNode(item) ? item : anchor;
    } else {
      break;
    }
  }
  const offset = anchor?.range?.[0] ?? 0;
  return lines.linePos(offset);
}

function resolve(doc: Document, node: unknown): unknown {
  let current = node;
  for (let hops = 0; hops < 8 && isAlias(current); hops++) current = current.resolve(doc);
  return current;
}

function isNode(value: unknown): value is Node {
  return isScalar(value) || isMap(value) || isSeq(value) || isAlias(value);
}
