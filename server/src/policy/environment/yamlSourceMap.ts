/**
 * Reading CI files through the `yaml` Document API while keeping exact source offsets.
 *
 * The CI checks look for a command *inside* a YAML string (`run: |` blocks, GitLab
 * `script:` items) and must point at that command's own line. A scalar's value is not its
 * source: block scalars drop indentation, folded and flow scalars join lines, quoted ones
 * decode escapes. `scalarSourceMap` rebuilds the value from the scalar's source text with
 * the source offset of every character, and checks it against the parser's own value: when
 * the two disagree (a construct we do not model) every character maps to the scalar's
 * start, which is still the right step, just not the right line inside it.
 */
import { isAlias, isMap, isScalar, isSeq, Scalar, type Document, type Node, type YAMLMap } from 'yaml';
import type { FindingLocation } from '../../analysis/findings';

/** The finding location of a YAML node; null when the node has no range (made, not parsed). */
export function locationOf(file: string, node: Node | null | undefined): FindingLocation | null {
  return node?.range ? { file, span: { start: node.range[0], end: node.range[1] } } : null;
}

/** A node with aliases resolved (`*anchor` → the anchored node, which keeps its own range). */
export function deref(doc: Document, node: unknown): Node | null {
  let current = node;
  // Aliases cannot chain in valid YAML, but a bound keeps a malformed file from looping.
  for (let hops = 0; hops < 8 && isAlias(current); hops++) current = current.resolve(doc);
  if (isAlias(current)) return null;
  return isMap(current) || isSeq(current) || isScalar(current) ? current : null;
}

export interface MapEntry {
  key: string;
  keyNode: Node | null;
  value: Node | null;
}

/**
 * The entries of a mapping, with `<<: *anchor` merge keys expanded (GitLab files use them a
 * lot); the mapping's own keys win over merged ones, as in YAML's merge-key rule.
 */
export function mapEntries(doc: Document, node: unknown, depth = 0): MapEntry[] {
  const map = deref(doc, node);
  if (!isMap(map)) return [];
  const own: MapEntry[] = [];
  const merged: MapEntry[] = [];
  for (const pair of (map as YAMLMap<unknown, unknown>).items) {
    const keyNode = deref(doc, pair.key);
    const key = isScalar(keyNode) ? String(keyNode.value) : null;
    if (key === null) continue;
    if (key === '<<' && depth < 8) {
      const source = deref(doc, pair.value);
      const sources = isSeq(source) ? source.items : [source];
      for (const item of sources) merged.push(...mapEntries(doc, item, depth + 1));
      continue;
    }
    own.push({ key, keyNode, value: deref(doc, pair.value) });
  }
  const seen = new Set(own.map((e) => e.key));
  return [...own, ...merged.filter((e) => !seen.has(e.key) && (seen.add(e.key), true))];
}

export function mapGet(doc: Document, node: unknown, key: string): Node | null {
  return mapEntries(doc, node).find((e) => e.key === key)?.value ?? null;
}

/** A scalar's value as text (numbers and booleans as YAML wrote them); null for collections and null. */
export function scalarText(node: Node | null): string | null {
  if (!isScalar(node) || node.value === null || node.value === undefined) return null;
  return typeof node.value === 'string' ? node.value : String(node.value);
}

export function seqItems(doc: Document, node: unknown): Node[] {
  const seq = deref(doc, node);
  if (!isSeq(seq)) return [];
  return seq.items.map((item) => deref(doc, item)).filter((n): n is Node => n !== null);
}

/** A scalar's value with, for each character, its offset in the file. */
export interface MappedValue {
  value: string;
  offsetAt(index: number): number;
  /** False when we fell back to mapping everything to the scalar's start. */
  exact: boolean;
}

interface Builder {
  out: string;
  map: number[];
}

function push(b: Builder, text: string, offset: number, perChar = true): void {
  for (let i = 0; i < text.length; i++) {
    b.out += text[i];
    b.map.push(perChar ? offset + i : offset);
  }
}

interface SourceLine {
  text: string;
  start: number;
}

function sourceLines(source: string, from: number, to: number): SourceLine[] {
  const lines: SourceLine[] = [];
  const re = /\r?\n/g;
  let start = from;
  const slice = source.slice(from, to);
  let match: RegExpExecArray | null;
  while ((match = re.exec(slice))) {
    lines.push({ text: slice.slice(start - from, match.index), start });
    start = from + match.index + match[0].length;
  }
  lines.push({ text: slice.slice(start - from), start });
  return lines;
}

/** Block scalars (`|`, `>`): indentation removed; `>` folds single breaks between plain lines. */
function mapBlock(source: string, node: Scalar, b: Builder): void {
  const [start, , end] = node.range!;
  const headerEnd = source.indexOf('\n', start);
  if (headerEnd < 0 || headerEnd >= end) return;
  const lines = sourceLines(source, headerEnd + 1, end);
  const firstContent = lines.find((l) => l.text.trim() !== '');
  if (!firstContent) return;
  const indent = /^ */.exec(firstContent.text)![0].length;
  const folded = node.type === Scalar.BLOCK_FOLDED;
  let previous: 'plain' | 'more' | null = null;
  let emptyRun = 0;
  for (const line of lines) {
    // Up to `indent` spaces and nothing else is an empty line; more spaces are content.
    if (line.text.length <= indent && line.text.trim() === '') {
      emptyRun++;
      continue;
    }
    const content = line.text.slice(indent);
    const kind = /^[ \t]/.test(content) ? 'more' : 'plain';
    const joinAt = line.start + indent;
    if (previous !== null) {
      if (!folded) push(b, '\n'.repeat(emptyRun + 1), joinAt, false);
      else if (previous === 'plain' && kind === 'plain') push(b, emptyRun ? '\n'.repeat(emptyRun) : ' ', joinAt, false);
      else push(b, '\n'.repeat(emptyRun + 1), joinAt, false);
    } else {
      push(b, '\n'.repeat(emptyRun), joinAt, false);
    }
    emptyRun = 0;
    push(b, content, joinAt);
    previous = kind;
  }
}

/** Plain and quoted flow scalars: a single line break folds to a space, blank lines to newlines. */
function mapFlow(source: string, node: Scalar, b: Builder): void {
  const [start, valueEnd] = node.range!;
  const quote = node.type === Scalar.QUOTE_DOUBLE ? '"' : node.type === Scalar.QUOTE_SINGLE ? "'" : '';
  const from = start + quote.length;
  const to = valueEnd - quote.length;
  const lines = sourceLines(source, from, to);
  let pendingBreak = false;
  let emptyRun = 0;
  let escapedBreak = false;
  lines.forEach((line, index) => {
    const first = index === 0;
    const last = index === lines.length - 1;
    let text = line.text;
    let offset = line.start;
    if (!first) {
      const lead = /^[ \t]*/.exec(text)![0].length;
      text = text.slice(lead);
      offset += lead;
    }
    if (!last) text = text.replace(/[ \t]+$/, '');
    if (!first && !last && text === '') {
      emptyRun++;
      return;
    }
    if (pendingBreak && !escapedBreak) push(b, emptyRun ? '\n'.repeat(emptyRun) : ' ', offset, false);
    emptyRun = 0;
    escapedBreak = false;
    if (quote === '"' && !last && /(^|[^\\])(\\\\)*\\$/.test(text)) {
      // `\` at the end of a double-quoted line joins the next line with no space.
      escapedBreak = true;
      text = text.slice(0, -1);
    }
    decodeInto(b, text, offset, quote);
    pendingBreak = true;
  });
}

const DOUBLE_ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029',
};

function decodeInto(b: Builder, text: string, offset: number, quote: string): void {
  if (quote === "'") {
    for (let i = 0; i < text.length; i++) {
      push(b, text[i]!, offset + i);
      if (text[i] === "'" && text[i + 1] === "'") i++;
    }
    return;
  }
  if (quote !== '"') {
    push(b, text, offset);
    return;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      push(b, c, offset + i);
      continue;
    }
    const e = text[i + 1] ?? '';
    const hexLength = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLength) {
      push(b, String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + hexLength), 16) || 0), offset + i, false);
      i += 1 + hexLength;
    } else {
      push(b, DOUBLE_ESCAPES[e] ?? e, offset + i, false);
      i++;
    }
  }
}

function withoutTrailingBreaks(text: string): string {
  return text.replace(/\n+$/, '');
}

export function scalarSourceMap(source: string, node: Scalar): MappedValue {
  const value = typeof node.value === 'string' ? node.value : String(node.value ?? '');
  const range = node.range;
  if (!range) return { value, offsetAt: () => 0, exact: false };
  const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
  const b: Builder = { out: '', map: [] };
  try {
    if (block) mapBlock(source, node, b);
    else mapFlow(source, node, b);
  } catch {
    b.out = '';
  }
  // Chomping (`|-`, `|+`) only changes trailing newlines, which hold no commands.
  if (withoutTrailingBreaks(b.out) === withoutTrailingBreaks(value)) {
    const last = b.map.length ? b.map[b.map.length - 1]! : range[0];
    return { value, offsetAt: (i) => b.map[Math.max(0, i)] ?? last, exact: true };
  }
  const contentStart = block ? Math.min(source.indexOf('\n', range[0]) + 1 || range[0], range[1]) : range[0];
  return { value, offsetAt: () => contentStart, exact: false };
}
