/**
 * Minimal, lossless edits of YAML (pnpm-workspace.yaml): add, remove, rename or re-value
 * one entry of a map or a list and leave every other byte alone.
 *
 * The `yaml` Document API finds the nodes and their source ranges, and decides how a new
 * scalar must be quoted. Why not `doc.toString()` of the mutated document: it re-indents
 * lists, normalises comment spacing and flow-collection padding, so one added line would
 * rewrite the whole file. The edit is made at the node's range instead, in the file's own
 * indentation, EOL and quote style, and then checked: the edited text must parse to
 * exactly the intended value, or the edit is refused.
 */
import { isDeepStrictEqual } from 'node:util';
import { Document, isCollection, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { applyTextEdits, EditRefusedError, type LocalEdit } from './applyEdits';
import { detectEol, type TextFormat } from './jsonEdit';

interface YamlFormat extends TextFormat {
  /** Block list items sit one indent unit right of their key (`key:\n  - a`), or under it. */
  indentSequences: boolean;
  /** Quote like most of the file; on a tie, single quotes, as pnpm writes its own files. */
  singleQuote: boolean;
}

type Scalar = string | boolean;
type Mutation = (doc: Record<string, unknown>) => void;

export function parseYamlForEdit(text: string, label: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new EditRefusedError(`${label} does not parse${line ? ` (line ${line})` : ''}: ${first.message.split('\n')[0]}; fix it, then apply the fix`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) throw new EditRefusedError(`${label} must be a YAML map of settings`);
  return doc;
}

/** Entries of the map at a path (undefined when absent or empty-valued). */
export function yamlMapEntries(text: string, mapPath: readonly string[], label: string): { key: string; value: unknown; offset: number }[] | undefined {
  const node = nodeAt(parseYamlForEdit(text, label), mapPath);
  if (!node || (isScalar(node) && node.value === null)) return undefined;
  if (!isMap(node)) throw new EditRefusedError(`${label}: "${mapPath.join('.')}" is not a map`);
  return node.items.map((pair) => ({ key: String(scalarValue(pair.key)), value: toJs(pair.value), offset: rangeOf(pair.key)[0] }));
}

export function yamlSeqItems(text: string, seqPath: readonly string[], label: string): { value: unknown; offset: number }[] | undefined {
  const node = nodeAt(parseYamlForEdit(text, label), seqPath);
  if (!node || (isScalar(node) && node.value === null)) return undefined;
  if (!isSeq(node)) throw new EditRefusedError(`${label}: "${seqPath.join('.')}" is not a list`);
  return node.items.map((item) => ({ value: toJs(item), offset: rangeOf(item as Node)[0] }));
}

/** Sets `key: value` in the map at `mapPath`, creating the map (one level) when missing. */
export function setYamlMapEntry(text: string, mapPath: readonly string[], key: string, value: Scalar, label: string): LocalEdit[] {
  const doc = parseYamlForEdit(text, label);
  const fmt = detectYamlFormat(text, doc);
  const mutation: Mutation = (js) => void (ensureObject(js, mapPath)[key] = value);
  const node = nodeAt(doc, mapPath);
  if (isMap(node)) {
    const pair = node.items.find((p) => scalarValue(p.key) === key);
    if (pair && isScalar(pair.value) && pair.value.value !== null) {
      const [start, end] = rangeOf(pair.value);
      return verified(text, [{ start, end, newText: renderScalar(value, fmt) }], mutation, label);
    }
    if (pair) throw new EditRefusedError(`${label}: "${[...mapPath, key].join('.')}" holds a collection, not true/false`);
    return verified(text, insertIntoCollection(text, node, `${renderScalar(key, fmt)}: ${renderScalar(value, fmt)}`), mutation, label);
  }
  return verified(text, createCollection(text, doc, mapPath, 'map', [`${renderScalar(key, fmt)}: ${renderScalar(value, fmt)}`], fmt), mutation, label);
}

export function removeYamlMapEntry(text: string, mapPath: readonly string[], key: string, label: string, near?: number): LocalEdit[] {
  const doc = parseYamlForEdit(text, label);
  const node = nodeAt(doc, mapPath);
  if (!isMap(node)) return [];
  const matches = node.items.filter((p) => scalarValue(p.key) === key);
  if (matches.length === 0) return [];
  const pair = closest(matches, (p) => rangeOf(p.key)[0], near);
  return verified(text, removeFromCollection(text, doc, mapPath, node, node.items.indexOf(pair)), (js) => void delete ensureObject(js, mapPath)[key], label);
}

export function renameYamlMapKey(text: string, mapPath: readonly string[], oldKey: string, newKey: string, label: string): LocalEdit[] {
  const doc = parseYamlForEdit(text, label);
  const node = nodeAt(doc, mapPath);
  const pair = isMap(node) ? node.items.find((p) => scalarValue(p.key) === oldKey) : undefined;
  if (!pair) throw new EditRefusedError(`${label}: no "${oldKey}" in "${mapPath.join('.')}"`);
  if (oldKey === newKey) return [];
  const [start, end] = rangeOf(pair.key);
  const mutation: Mutation = (js) => {
    const map = ensureObject(js, mapPath);
    const value = map[oldKey];
    delete map[oldKey];
    map[newKey] = value;
  };
  return verified(text, [{ start, end, newText: renderScalar(newKey, detectYamlFormat(text, doc)) }], mutation, label);
}

export function appendYamlSeqItem(text: string, seqPath: readonly string[], value: string, label: string): LocalEdit[] {
  const doc = parseYamlForEdit(text, label);
  const fmt = detectYamlFormat(text, doc);
  const node = nodeAt(doc, seqPath);
  const mutation: Mutation = (js) => {
    const parent = ensureObject(js, seqPath.slice(0, -1));
    const last = seqPath[seqPath.length - 1]!;
    parent[last] = [...((parent[last] as unknown[] | null) ?? []), value];
  };
  if (isSeq(node)) return verified(text, insertIntoCollection(text, node, renderScalar(value, fmt)), mutation, label);
  if (node && !(isScalar(node) && node.value === null)) throw new EditRefusedError(`${label}: "${seqPath.join('.')}" is not a list`);
  return verified(text, createCollection(text, doc, seqPath, 'seq', [renderScalar(value, fmt)], fmt), mutation, label);
}

export function replaceYamlSeqItem(text: string, seqPath: readonly string[], index: number, value: string, label: string): LocalEdit[] {
  const doc = parseYamlForEdit(text, label);
  const node = nodeAt(doc, seqPath);
  const item = isSeq(node) ? node.items[index] : undefined;
  if (!isScalar(item)) throw new EditRefusedError(`${label}: no item ${index} in "${seqPath.join('.')}"`);
  const [start, end] = rangeOf(item);
  const mutation: Mutation = (js) => void ((ensureObject(js, seqPath.slice(0, -1))[seqPath[seqPath.length - 1]!] as unknown[])[index] = value);
  return verified(text, [{ start, end, newText: renderScalar(value, detectYamlFormat(text, doc)) }], mutation, label);
}

export function removeYamlSeqItem(text: string, seqPath: readonly string[], index: number, label: string): LocalEdit[] {
  const doc = parseYamlForEdit(text, label);
  const node = nodeAt(doc, seqPath);
  if (!isSeq(node) || !node.items[index]) return [];
  const mutation: Mutation = (js) => void (ensureObject(js, seqPath.slice(0, -1))[seqPath[seqPath.length - 1]!] as unknown[]).splice(index, 1);
  return verified(text, removeFromCollection(text, doc, seqPath, node, index), mutation, label);
}

// ---- internals ----

function verified(text: string, edits: LocalEdit[], mutation: Mutation, label: string): LocalEdit[] {
  const after = applyTextEdits(text, edits.map((e) => ({ span: { start: e.start, end: e.end }, newText: e.newText })));
  const expected = (parseDocument(text).toJS() ?? {}) as Record<string, unknown>;
  mutation(expected);
  const reparsed = parseDocument(after);
  if (reparsed.errors.length > 0 || !isDeepStrictEqual(reparsed.toJS() ?? {}, expected)) {
    throw new EditRefusedError(`${label}: the edit could not be made without changing other content, so nothing was changed; edit the file by hand`);
  }
  return edits;
}

function ensureObject(js: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  let target = js;
  for (const segment of path) {
    if (target[segment] === null || target[segment] === undefined) target[segment] = {};
    target = target[segment] as Record<string, unknown>;
  }
  return target;
}

function nodeAt(doc: Document, path: readonly string[]): Node | null {
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (!isMap(node)) return null;
    const pair = node.items.find((p) => scalarValue(p.key) === segment);
    if (!pair) return null;
    node = pair.value;
  }
  return (node as Node | null) ?? null;
}

function scalarValue(node: unknown): unknown {
  return isScalar(node) ? node.value : undefined;
}

function toJs(node: unknown): unknown {
  if (isScalar(node)) return node.value;
  if (isCollection(node)) return node.toJSON();
  return null;
}

function rangeOf(node: unknown): [number, number, number] {
  const range = (node as Node | null)?.range;
  if (!range) throw new EditRefusedError('a YAML node without a source range cannot be edited in place');
  return range;
}

function closest<T>(items: T[], offset: (item: T) => number, near: number | undefined): T {
  if (near === undefined) return items[0]!;
  return items.reduce((best, item) => (Math.abs(offset(item) - near) < Math.abs(offset(best) - near) ? item : best));
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset of the line break ending the line that holds `offset` (before a \r), or the text's end. */
function lineEndOf(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  if (newline === -1) return text.length;
  return newline > 0 && text[newline - 1] === '\r' ? newline - 1 : newline;
}

function afterLineBreak(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  return newline === -1 ? text.length : newline + 1;
}

/** The last scalar inside a node: where its last line of content is. */
function lastScalarEnd(node: unknown): number {
  let current: unknown = node;
  for (;;) {
    if (isPair(current)) current = current.value ?? current.key;
    else if (isCollection(current) && !current.flow && current.items.length > 0) current = current.items[current.items.length - 1];
    else return rangeOf(current)[1];
  }
}

function columnOf(text: string, offset: number): number {
  return offset - lineStartOf(text, offset);
}

function itemStart(item: unknown): number {
  return isPair(item) ? rangeOf(item.key)[0] : rangeOf(item)[0];
}

function renderScalar(value: Scalar, fmt: YamlFormat): string {
  return new Document(value).toString({ singleQuote: fmt.singleQuote, lineWidth: 0 }).replace(/\r?\n$/, '');
}

function detectYamlFormat(text: string, doc: Document): YamlFormat {
  let indentUnit = '';
  let sequenceIndent: number | null = null;
  let single = 0;
  let double = 0;
  visit(doc, {
    Pair(_, pair) {
      const keyColumn = isScalar(pair.key) && pair.key.range ? columnOf(text, pair.key.range[0]) : null;
      const value = pair.value;
      if (keyColumn === null || !isCollection(value) || value.flow || value.items.length === 0 || !value.range) return;
      if (isMap(value) && !indentUnit) indentUnit = ' '.repeat(Math.max(1, columnOf(text, itemStart(value.items[0])) - keyColumn));
      if (isSeq(value) && sequenceIndent === null) sequenceIndent = columnOf(text, value.range[0]) - keyColumn;
    },
    Scalar(_, scalar) {
      if (scalar.type === 'QUOTE_SINGLE') single++;
      if (scalar.type === 'QUOTE_DOUBLE') double++;
    },
  });
  if (!indentUnit) indentUnit = sequenceIndent ? ' '.repeat(sequenceIndent) : '  ';
  return { indentUnit, eol: detectEol(text), indentSequences: sequenceIndent === null ? true : sequenceIndent > 0, singleQuote: single >= double };
}

function insertIntoCollection(text: string, node: YAMLMap | YAMLSeq, entry: string): LocalEdit[] {
  const eol = detectEol(text);
  const [start, end] = rangeOf(node);
  if (node.flow) {
    const close = end - 1;
    const last = node.items[node.items.length - 1];
    if (!last) return [{ start: start + 1, end: start + 1, newText: isMap(node) ? ` ${entry} ` : entry }];
    const lastEnd = isPair(last) ? rangeOf(last.value ?? last.key)[1] : rangeOf(last)[1];
    const between = text.slice(lastEnd, close);
    const comma = between.indexOf(',');
    return comma === -1 ? [{ start: lastEnd, end: lastEnd, newText: `, ${entry}` }] : [{ start: lastEnd + comma + 1, end: lastEnd + comma + 1, newText: ` ${entry},` }];
  }
  const first = node.items[0]!;
  const column = isSeq(node) ? columnOf(text, start) : columnOf(text, itemStart(first));
  const at = lineEndOf(text, lastScalarEnd(node.items[node.items.length - 1]));
  const line = ' '.repeat(column) + (isSeq(node) ? `- ${entry}` : entry);
  return [{ start: at, end: at, newText: eol + line }];
}

/** A new map or list at `path`, under its parent map (or as an empty-valued key's value). */
function createCollection(text: string, doc: Document, path: readonly string[], kind: 'map' | 'seq', entries: string[], fmt: YamlFormat): LocalEdit[] {
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1]!;
  const parent = parentPath.length === 0 ? doc.contents : nodeAt(doc, parentPath);
  if (parent !== null && !isMap(parent)) throw new EditRefusedError(`"${parentPath.join('.')}" is not a map`);
  const existing = isMap(parent) ? parent.items.find((p) => scalarValue(p.key) === key) : undefined;
  const keyColumn = existing ? columnOf(text, rangeOf(existing.key)[0]) : isMap(parent) && parent.items[0] ? columnOf(text, itemStart(parent.items[0])) : 0;
  const childIndent = ' '.repeat(keyColumn) + (kind === 'seq' && !fmt.indentSequences ? '' : fmt.indentUnit);
  const lines = entries.map((entry) => fmt.eol + childIndent + (kind === 'seq' ? `- ${entry}` : entry)).join('');
  if (existing) {
    // `key:` with no value yet: the entries go under it; a comment on that line stays there.
    const at = lineEndOf(text, rangeOf(existing.key)[1]);
    return [{ start: at, end: at, newText: lines }];
  }
  const block = `${renderScalar(key, fmt)}:${lines}`;
  if (isMap(parent) && parent.items.length > 0 && !parent.flow) return insertIntoCollection(text, parent, block);
  if (isMap(parent) && parent.flow) throw new EditRefusedError('settings written as a flow map ({ ... }) are not edited in place; add the entry by hand');
  if (parent === null && parentPath.length > 0) throw new EditRefusedError(`"${parentPath.join('.')}" does not exist`);
  const separator = text === '' || text.endsWith('\n') ? '' : fmt.eol;
  return [{ start: text.length, end: text.length, newText: separator + block + fmt.eol }];
}

function removeFromCollection(text: string, doc: Document, path: readonly string[], node: YAMLMap | YAMLSeq, index: number): LocalEdit[] {
  const items = node.items as unknown[];
  const item = items[index];
  const start = itemStart(item);
  const end = isPair(item) ? rangeOf(item.value ?? item.key)[1] : rangeOf(item)[1];
  if (node.flow) {
    const next = items[index + 1];
    const previous = items[index - 1];
    if (next !== undefined) return [{ start, end: itemStart(next), newText: '' }];
    if (previous !== undefined) return [{ start: isPair(previous) ? rangeOf(previous.value ?? previous.key)[1] : rangeOf(previous)[1], end, newText: '' }];
    return [{ start, end, newText: '' }];
  }
  const lineStart = lineStartOf(text, start);
  const before = text.slice(lineStart, start);
  if (!(isSeq(node) ? /^[ \t]*-[ \t]+$/ : /^[ \t]*$/).test(before)) {
    throw new EditRefusedError('the entry shares its line with other content; remove it by hand');
  }
  const removal: LocalEdit = { start: lineStart, end: afterLineBreak(text, lineEndOf(text, lastScalarEnd(item))), newText: '' };
  if (items.length > 1 || path.length === 0) return [removal];
  // The only entry: leave an empty `{}` / `[]`, because an absent or empty-valued list
  // means something else to the tool (Bun's default list, pnpm's defaults).
  const owner = path.length === 1 ? doc.contents : nodeAt(doc, path.slice(0, -1));
  const pair = isMap(owner) ? (owner.items as Pair[]).find((p) => scalarValue(p.key) === path[path.length - 1]) : undefined;
  if (!pair) return [removal];
  const keyEnd = rangeOf(pair.key)[1];
  const colon = text.indexOf(':', keyEnd);
  return [{ start: colon + 1, end: colon + 1, newText: isMap(node) ? ' {}' : ' []' }, removal];
}
