/**
 * Minimal, lossless edits of JSON / JSONC files (package.json, install-guard.jsonc): add,
 * remove or rename one entry of an object or array and leave every other byte alone.
 *
 * Why not jsonc-parser's `modify` alone: it re-formats the neighbouring entry, which
 * moves a trailing `// comment` onto the new entry, drops the comment of the previous
 * line when the last array item is removed, and expands an inline `["a", "b"]` into one
 * item per line. Here jsonc-parser's tree and scanner locate the entry and its commas,
 * the inserted text takes the file's own indent unit and EOL, and every edit is checked
 * by re-parsing: the result must equal the intended value, or the edit is refused.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  createScanner,
  findNodeAtLocation,
  getNodeValue,
  parseTree,
  printParseErrorCode,
  SyntaxKind,
  type Node as JsonNode,
  type ParseError,
} from 'jsonc-parser';
import { LineIndex } from '../../parse/textPosition';
import { applyTextEdits, EditRefusedError, type LocalEdit } from './applyEdits';

export interface TextFormat {
  /** One level of indentation as the file writes it: "\t", "  ", "    ", ... */
  indentUnit: string;
  eol: '\n' | '\r\n';
}

export function detectEol(text: string): '\n' | '\r\n' {
  const first = text.indexOf('\n');
  return first > 0 && text[first - 1] === '\r' ? '\r\n' : '\n';
}

export function detectJsonFormat(text: string): TextFormat {
  const indented = /\n([ \t]+)\S/.exec(text);
  const indentUnit = !indented ? '  ' : indented[1]!.startsWith('\t') ? '\t' : indented[1]!;
  return { indentUnit, eol: detectEol(text) };
}

/** The root of a file that must parse cleanly before we touch it. */
export function parseJsonForEdit(text: string, label: string): JsonNode {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const first = errors[0]!;
    const at = new LineIndex(text).positionAt(first.offset);
    throw new EditRefusedError(
      `${label} does not parse (line ${at.line + 1}, column ${at.character + 1}: ${printParseErrorCode(first.error)}); finish editing it, then apply the fix`,
    );
  }
  if (!root || (root.type !== 'object' && root.type !== 'array')) {
    throw new EditRefusedError(`${label} must contain a JSON object`);
  }
  return root;
}

/** The parsed value at a path of object keys, or undefined when absent. */
export function jsonValueAt(text: string, path: readonly string[], label: string): unknown {
  const node = findNodeAtLocation(parseJsonForEdit(text, label), [...path]);
  return node ? getNodeValue(node) : undefined;
}

type Mutation = (value: unknown) => void;

/** Sets `key` of the object at `objectPath` (created when missing) to `value`. */
export function setJsonProperty(text: string, objectPath: readonly (string | number)[], key: string, value: unknown, label: string): LocalEdit[] {
  const root = parseJsonForEdit(text, label);
  const fmt = detectJsonFormat(text);
  const mutation: Mutation = (doc) => {
    let target = doc as Record<string | number, unknown>;
    for (const segment of objectPath) target = (target[segment] ??= {}) as Record<string | number, unknown>;
    target[key] = value;
  };
  // The deepest object that exists; the rest of the path is created with the value.
  let depth = objectPath.length;
  while (depth > 0 && !findNodeAtLocation(root, objectPath.slice(0, depth))) depth--;
  const container = depth === 0 ? root : findNodeAtLocation(root, objectPath.slice(0, depth))!;
  if (container.type !== 'object') {
    throw new EditRefusedError(`${label}: "${objectPath.slice(0, Math.max(depth, 1)).join('.')}" is not an object, so the entry cannot be added`);
  }
  let newKey = key;
  if (depth < objectPath.length && typeof objectPath[depth] !== 'string') throw new EditRefusedError(`${label}: no item ${String(objectPath[depth])} in "${objectPath.slice(0, depth).join('.')}"`);
  let newValue: unknown = value;
  if (depth < objectPath.length) {
    newKey = objectPath[depth] as string;
    newValue = objectPath.slice(depth + 1).reduceRight<unknown>((inner, segment) => ({ [segment]: inner }), { [key]: value });
  }
  const existing = propertyOf(container, newKey);
  let edits: LocalEdit[];
  if (existing) {
    const valueNode = existing.children![1]!;
    const indent = leadingWhitespace(text, lineStartOf(text, existing.offset));
    edits = [{ start: valueNode.offset, end: valueNode.offset + valueNode.length, newText: renderJson(newValue, fmt, indent) }];
  } else {
    edits = insertIntoContainer(text, container, (indent, inline) => `${JSON.stringify(newKey)}: ${inline ? renderInline(newValue) : renderJson(newValue, fmt, indent)}`, fmt);
  }
  return verified(text, edits, mutation, label);
}

export function removeJsonProperty(text: string, objectPath: readonly string[], key: string, label: string, near?: number): LocalEdit[] {
  const container = findNodeAtLocation(parseJsonForEdit(text, label), [...objectPath]);
  const property = container?.type === 'object' ? propertyOf(container, key, near) : undefined;
  if (!container || !property) return [];
  const mutation: Mutation = (doc) => {
    delete (objectAt(doc, objectPath) as Record<string, unknown>)[key];
  };
  return verified(text, removeFromContainer(text, container, container.children!.indexOf(property)), mutation, label);
}

export function renameJsonProperty(text: string, objectPath: readonly string[], oldKey: string, newKey: string, label: string): LocalEdit[] {
  const container = findNodeAtLocation(parseJsonForEdit(text, label), [...objectPath]);
  const property = container?.type === 'object' ? propertyOf(container, oldKey) : undefined;
  if (!property) throw new EditRefusedError(`${label}: no "${oldKey}" in "${objectPath.join('.')}"`);
  if (oldKey === newKey) return [];
  const keyNode = property.children![0]!;
  const mutation: Mutation = (doc) => {
    const object = objectAt(doc, objectPath) as Record<string, unknown>;
    const value = object[oldKey];
    delete object[oldKey];
    object[newKey] = value;
  };
  return verified(text, [{ start: keyNode.offset, end: keyNode.offset + keyNode.length, newText: JSON.stringify(newKey) }], mutation, label);
}

/** Appends to the array at `arrayPath`; creates `[value]` (and missing parents) when absent. */
export function appendJsonItem(text: string, arrayPath: readonly string[], value: unknown, label: string): LocalEdit[] {
  const root = parseJsonForEdit(text, label);
  const array = arrayPath.length === 0 ? root : findNodeAtLocation(root, [...arrayPath]);
  if (!array) return setJsonProperty(text, arrayPath.slice(0, -1), arrayPath[arrayPath.length - 1]!, [value], label);
  if (array.type !== 'array') throw new EditRefusedError(`${label}: "${arrayPath.join('.')}" is not a list, so the entry cannot be added`);
  const fmt = detectJsonFormat(text);
  const edits = insertIntoContainer(text, array, (indent, inline) => (inline ? renderInline(value) : renderJson(value, fmt, indent)), fmt);
  return verified(text, edits, (doc) => (objectAt(doc, arrayPath) as unknown[]).push(value), label);
}

export function replaceJsonItem(text: string, arrayPath: readonly string[], index: number, value: unknown, label: string): LocalEdit[] {
  const root = parseJsonForEdit(text, label);
  const item = (arrayPath.length === 0 ? root : findNodeAtLocation(root, [...arrayPath]))?.children?.[index];
  if (!item) throw new EditRefusedError(`${label}: no item ${index} in "${arrayPath.join('.')}"`);
  const edits = [{ start: item.offset, end: item.offset + item.length, newText: renderInline(value) }];
  return verified(text, edits, (doc) => void ((objectAt(doc, arrayPath) as unknown[])[index] = value), label);
}

export function removeJsonItem(text: string, arrayPath: readonly string[], index: number, label: string): LocalEdit[] {
  const root = parseJsonForEdit(text, label);
  const array = arrayPath.length === 0 ? root : findNodeAtLocation(root, [...arrayPath]);
  if (array?.type !== 'array' || !array.children?.[index]) return [];
  return verified(text, removeFromContainer(text, array, index), (doc) => void (objectAt(doc, arrayPath) as unknown[]).splice(index, 1), label);
}

/** Items of the array at a path with their offsets, for callers that match by value. */
export function jsonArrayItems(text: string, arrayPath: readonly string[], label: string): { value: unknown; offset: number }[] | undefined {
  const root = parseJsonForEdit(text, label);
  const array = arrayPath.length === 0 ? root : findNodeAtLocation(root, [...arrayPath]);
  if (!array) return undefined;
  if (array.type !== 'array') throw new EditRefusedError(`${label}: "${arrayPath.join('.')}" is not a list`);
  return (array.children ?? []).map((item) => ({ value: getNodeValue(item), offset: item.offset }));
}

/** Entries of the object at a path in file order, with the offset of each property. */
export function jsonObjectEntries(text: string, objectPath: readonly string[], label: string): { key: string; value: unknown; offset: number }[] | undefined {
  const object = findNodeAtLocation(parseJsonForEdit(text, label), [...objectPath]);
  if (!object) return undefined;
  if (object.type !== 'object') throw new EditRefusedError(`${label}: "${objectPath.join('.')}" is not an object`);
  return (object.children ?? []).map((property) => ({
    key: String(property.children![0]!.value),
    value: property.children![1] ? getNodeValue(property.children![1]) : undefined,
    offset: property.offset,
  }));
}

// ---- internals ----

function verified(text: string, edits: LocalEdit[], mutation: Mutation, label: string): LocalEdit[] {
  const after = applyTextEdits(text, edits.map((e) => ({ span: { start: e.start, end: e.end }, newText: e.newText })));
  // Through JSON: jsonc-parser builds objects without a prototype, which deep equality would count.
  const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;
  const expected = plain(getNodeValue(parseJsonForEdit(text, label)));
  mutation(expected);
  let actual: unknown;
  try {
    actual = plain(getNodeValue(parseJsonForEdit(after, label)));
  } catch {
    actual = Symbol('unparsable');
  }
  if (!isDeepStrictEqual(actual, expected)) {
    throw new EditRefusedError(`${label}: the edit could not be made without changing other content, so nothing was changed; edit the file by hand`);
  }
  return edits;
}

function objectAt(doc: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((value, segment) => (value as Record<string | number, unknown>)[segment], doc);
}

function propertyOf(object: JsonNode, key: string, near?: number): JsonNode | undefined {
  const matches = (object.children ?? []).filter((p) => p.children?.[0]?.value === key);
  if (near === undefined || matches.length < 2) return matches[0];
  return matches.reduce((best, p) => (Math.abs(p.offset - near) < Math.abs(best.offset - near) ? p : best));
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function leadingWhitespace(text: string, lineStart: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

function isFirstOnLine(text: string, offset: number): boolean {
  return /^[ \t]*$/.test(text.slice(lineStartOf(text, offset), offset));
}

/** Multi-line JSON in the file's style, continuation lines indented by `indent`. */
function renderJson(value: unknown, fmt: TextFormat, indent: string): string {
  return JSON.stringify(value, null, fmt.indentUnit).split('\n').join(fmt.eol + indent);
}

/** One-line JSON with spaces after separators, for entries of inline containers. */
function renderInline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(renderInline).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${renderInline(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

interface AfterEntry {
  /** End of a comma that directly follows the entry, or null. */
  commaEnd: number | null;
  /** Offset of the line break that ends the entry's line (its comments stay on it), or null when more follows on that line. */
  lineBreak: number | null;
  lineBreakEnd: number | null;
}

function scanAfter(text: string, offset: number): AfterEntry {
  const scanner = createScanner(text, false);
  scanner.setPosition(offset);
  let commaEnd: number | null = null;
  for (;;) {
    const token = scanner.scan();
    if (token === SyntaxKind.Trivia || token === SyntaxKind.LineCommentTrivia || token === SyntaxKind.BlockCommentTrivia) continue;
    if (token === SyntaxKind.CommaToken && commaEnd === null) {
      commaEnd = scanner.getTokenOffset() + scanner.getTokenLength();
      continue;
    }
    if (token === SyntaxKind.LineBreakTrivia) {
      return { commaEnd, lineBreak: scanner.getTokenOffset(), lineBreakEnd: scanner.getTokenOffset() + scanner.getTokenLength() };
    }
    if (token === SyntaxKind.EOF) return { commaEnd, lineBreak: text.length, lineBreakEnd: text.length };
    return { commaEnd, lineBreak: null, lineBreakEnd: null };
  }
}

function insertIntoContainer(text: string, container: JsonNode, entry: (indent: string, inline: boolean) => string, fmt: TextFormat): LocalEdit[] {
  const children = container.children ?? [];
  const open = container.offset;
  const close = container.offset + container.length - 1;
  const containerIndent = leadingWhitespace(text, lineStartOf(text, open));
  if (children.length === 0) {
    const inner = text.slice(open + 1, close);
    const childIndent = containerIndent + fmt.indentUnit;
    if (inner.includes('\n')) return [{ start: open + 1, end: open + 1, newText: fmt.eol + childIndent + entry(childIndent, false) }];
    if (inner.trim() === '') return [{ start: open + 1, end: close, newText: fmt.eol + childIndent + entry(childIndent, false) + fmt.eol + containerIndent }];
    return [{ start: close, end: close, newText: fmt.eol + childIndent + entry(childIndent, false) + fmt.eol + containerIndent }];
  }
  const last = children[children.length - 1]!;
  const lastEnd = last.offset + last.length;
  const after = scanAfter(text, lastEnd);
  if (after.lineBreak === null || after.lineBreak > close) {
    // An inline container, `{ "a": true }` / `["a", "b"]`: stay on the line.
    return after.commaEnd !== null && after.commaEnd <= close
      ? [{ start: after.commaEnd, end: after.commaEnd, newText: ` ${entry('', true)},` }]
      : [{ start: lastEnd, end: lastEnd, newText: `, ${entry('', true)}` }];
  }
  const indent = isFirstOnLine(text, last.offset) ? leadingWhitespace(text, lineStartOf(text, last.offset)) : containerIndent + fmt.indentUnit;
  const hasComma = after.commaEnd !== null;
  const edits: LocalEdit[] = [];
  if (!hasComma) edits.push({ start: lastEnd, end: lastEnd, newText: ',' });
  edits.push({ start: after.lineBreak, end: after.lineBreak, newText: fmt.eol + indent + entry(indent, false) + (hasComma ? ',' : '') });
  return edits;
}

function removeFromContainer(text: string, container: JsonNode, index: number): LocalEdit[] {
  const children = container.children!;
  const child = children[index]!;
  const previous = children[index - 1];
  const next = children[index + 1];
  const childEnd = child.offset + child.length;
  const after = scanAfter(text, childEnd);
  const close = container.offset + container.length - 1;
  const ownLines = isFirstOnLine(text, child.offset) && after.lineBreakEnd !== null && after.lineBreak! < close;
  if (ownLines) {
    const removal: LocalEdit = { start: lineStartOf(text, child.offset), end: after.lineBreakEnd!, newText: '' };
    if (children.length === 1) {
      // The last entry: leave `{}` / `[]` when nothing but whitespace would remain inside.
      const rest = text.slice(container.offset + 1, removal.start) + text.slice(removal.end, close);
      if (rest.trim() === '') return [{ start: container.offset, end: close + 1, newText: container.type === 'object' ? '{}' : '[]' }];
      return [removal];
    }
    if (!next && after.commaEnd === null && previous) {
      // The entry before becomes the last: drop its comma so strict JSON stays valid.
      const previousAfter = scanAfter(text, previous.offset + previous.length);
      if (previousAfter.commaEnd !== null) return [{ start: previousAfter.commaEnd - 1, end: previousAfter.commaEnd, newText: '' }, removal];
    }
    return [removal];
  }
  if (next) return [{ start: child.offset, end: next.offset, newText: '' }];
  if (previous) return [{ start: previous.offset + previous.length, end: childEnd, newText: '' }];
  return [{ start: child.offset, end: after.commaEnd !== null && after.commaEnd <= close ? after.commaEnd : childEnd, newText: '' }];
}
