/**
 * The YAML of pnpm-lock.yaml and of Yarn Berry's yarn.lock, read as @yarnpkg/parsers'
 * parseSyml reads it (js-yaml with the FAILSAFE schema: every scalar a string, an empty
 * value null, a later duplicate key replacing the earlier) — first by a fast reader for the
 * YAML these tools write, then by parseSyml for anything else.
 *
 * Why a second reader: js-yaml runs cold in a one-shot CLI, and on a 5k-package pnpm
 * lockfile its first parse took 100-140 ms of a warm audit (npm run bench), against ~20 ms
 * for JSON.parse of the same packages. pnpm and Yarn write a small regular part of YAML:
 * block mappings indented by two, `- item` sequences of scalars, one-line flow collections
 * of scalars (`{integrity: sha512-…}`, `[x64]`), plain, 'single' and "double" quoted scalars
 * on one line, whole-line comments. The fast reader takes exactly that, line by line, and
 * returns null for anything else — comments after a value, tabs, CRLF, escapes, block scalars, anchors and tags, complex
 * keys, other indentation, a value that continues on the next line, a character YAML calls
 * non-printable — so those files get js-yaml's reading and its errors. The two readers must
 * agree on every file the fast one accepts: test/unit/pnpmLock.test.ts holds them to it on
 * every pnpm and Berry lockfile the tests have.
 */

import { parseSyml } from '@yarnpkg/parsers';
import { FileParseError, NO_SPAN } from '../model/inventory';
import { closingQuoteWithoutEscapes, LineIndex } from './textPosition';

type Node = Record<string, unknown> | unknown[];

/**
 * YAML text -> its top-level mapping: the fast reader, else js-yaml through parseSyml
 * (FAILSAFE schema: every scalar a string). A syntax error becomes a FileParseError with its line.
 */
export function readYamlMapping(file: string, text: string, what: string): Record<string, unknown> {
  if (text.trim() === '') throw new FileParseError(file, `${what} is empty`, NO_SPAN);
  const fast = readMachineYaml(text);
  if (fast) return fast;
  try {
    return parseSyml(text);
  } catch (error) {
    const mark = (error as { mark?: { position?: number } }).mark;
    const reason = (error as { reason?: string }).reason ?? (error instanceof Error ? error.message.split('\n')[0] : String(error));
    const truncated = text.endsWith('\n') ? '' : ' (the file does not end with a newline: truncated?)';
    if (mark && typeof mark.position === 'number') {
      // At the end of the stream js-yaml points past the text: show the last line instead.
      const start = Math.max(0, Math.min(mark.position, text.length - 1));
      const at = new LineIndex(text).positionAt(start);
      throw new FileParseError(file, `${what} is not valid YAML: ${reason} at line ${at.line + 1}, column ${at.character + 1}${truncated}`, {
        start,
        end: Math.min(text.length, start + 1),
      });
    }
    throw new FileParseError(file, `${what} is not a YAML mapping: ${reason}${truncated}`, { start: 0, end: Math.min(1, text.length) });
  }
}

/** The document's top-level mapping, as parseSyml builds it; null when the fast reader steps aside. */
export function readMachineYaml(text: string): Record<string, unknown> | null {
  // A BOM, tabs, CRs, other control characters and any surrogate (a lone one is non-printable).
  if (text.charCodeAt(0) === 0xfeff || /[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]/.test(text)) return null;
  // parseSyml reads a file headed "# yarn lockfile v1" with Yarn 1's grammar instead.
  if (/^(?:#.*\n)*?#\s+yarn\s+lockfile\s+v1\n/i.test(text)) return null;
  const root: Record<string, unknown> = {};
  /** open[d]: the collection that lines indented 2*d spaces add to. */
  const open: Node[] = [root];
  /** The key whose value starts on the next line (`key:` at the end of a line), and where. */
  let pending: { parent: Record<string, unknown>; key: string; level: number } | null = null;
  let deepest = 0;
  for (let pos = 0; pos < text.length; ) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let at = pos;
    while (at < end && text.charCodeAt(at) === 32) at++;
    const indent = at - pos;
    pos = end + 1;
    // Blank lines and whole-line comments mean nothing in block YAML.
    if (at === end || text.charCodeAt(at) === 35 /* # */) continue;
    if (text.charCodeAt(end - 1) === 32) return null; // trailing spaces: leave the trimming rules to js-yaml
    const level = indent >> 1;
    if (indent % 2 === 1 || level > deepest) return null;
    if (pending) {
      if (level === pending.level + 1) {
        const container: Node = isItem(text, at) ? [] : {};
        pending.parent[pending.key] = container;
        open[level] = container;
      } else pending.parent[pending.key] = null;
      pending = null;
    }
    const target: Node = open[level]!;
    if (Array.isArray(target)) {
      if (!isItem(text, at)) return null;
      const item = blockValue(text, at + 2, end);
      if (item === FAIL || item === null) return null;
      target.push(item);
      deepest = level;
      continue;
    }
    if (isItem(text, at)) return null;
    const key = scalarAt(text, at, end, false);
    if (key === FAIL || key === '__proto__') return null;
    at = scanned;
    if (text.charCodeAt(at) !== 58 /* : */) return null;
    if (at + 1 === end) {
      pending = { parent: target, key, level };
      deepest = level + 1;
      continue;
    }
    if (text.charCodeAt(at + 1) !== 32) return null;
    const value = blockValue(text, at + 2, end);
    if (value === FAIL) return null;
    target[key] = value;
    deepest = level;
  }
  if (pending) pending.parent[pending.key] = null;
  return root;
}

const FAIL = Symbol('not in the YAML these tools write');
/** Where the last scalarAt() call stopped. */
let scanned = 0;

/** `- ` (or `-` alone) starts a block sequence item. */
function isItem(text: string, at: number): boolean {
  return text.charCodeAt(at) === 45 /* - */ && (text.charCodeAt(at + 1) === 32 || text.charCodeAt(at + 1) === 10 || at + 1 === text.length);
}

/** A value that fills the rest of the line: a flow collection or one scalar. */
function blockValue(text: string, at: number, end: number): unknown {
  const first = text.charCodeAt(at);
  if (first === 123 /* { */ || first === 91 /* [ */) {
    const value = flowCollection(text, at, end);
    return value !== FAIL && scanned === end ? value : FAIL;
  }
  const value = scalarAt(text, at, end, false);
  return value !== FAIL && scanned === end ? value : FAIL;
}

/** `{a: b, 'c': "d"}` or `[a, b]` with scalar members, on one line. */
function flowCollection(text: string, at: number, end: number): Node | typeof FAIL {
  const isMap = text.charCodeAt(at) === 123;
  const close = isMap ? 125 /* } */ : 93; /* ] */
  const result: Node = isMap ? {} : [];
  at = skipSpaces(text, at + 1, end);
  if (text.charCodeAt(at) === close) {
    scanned = at + 1;
    return result;
  }
  for (;;) {
    const first = scalarAt(text, at, end, true);
    if (first === FAIL) return FAIL;
    at = scanned;
    if (isMap) {
      if (first === '__proto__' || text.charCodeAt(at) !== 58 || text.charCodeAt(at + 1) !== 32) return FAIL;
      const value = scalarAt(text, skipSpaces(text, at + 2, end), end, true);
      if (value === FAIL) return FAIL;
      (result as Record<string, unknown>)[first] = value;
      at = scanned;
    } else (result as unknown[]).push(first);
    at = skipSpaces(text, at, end);
    const c = text.charCodeAt(at);
    if (c === close) {
      scanned = at + 1;
      return result;
    }
    if (c !== 44 /* , */) return FAIL;
    at = skipSpaces(text, at + 1, end);
  }
}

function skipSpaces(text: string, at: number, end: number): number {
  while (at < end && text.charCodeAt(at) === 32) at++;
  return at;
}

/**
 * A scalar at `at`: 'single' (with '' for a quote), "double" without escapes, or plain. A
 * plain scalar ends before `: ` or a `:` ending the line (a key), or in a flow collection
 * before `,`, `}`, `]`; one that holds ` #` (a comment), a `: ` of its own or starts with
 * an indicator is left to js-yaml. Sets `scanned` past it.
 */
function scalarAt(text: string, at: number, end: number, inFlow: boolean): string | typeof FAIL {
  const first = text.charCodeAt(at);
  if (first === 39 /* ' */) {
    let value = '';
    let from = at + 1;
    for (;;) {
      const quote = text.indexOf("'", from);
      if (quote < 0 || quote >= end) return FAIL;
      value += text.slice(from, quote);
      if (text.charCodeAt(quote + 1) !== 39) {
        scanned = quote + 1;
        return value;
      }
      value += "'";
      from = quote + 2;
    }
  }
  if (first === 34 /* " */) {
    const quote = closingQuoteWithoutEscapes(text, at, end);
    if (quote < 0) return FAIL;
    scanned = quote + 1;
    return text.slice(at + 1, quote);
  }
  if (at >= end || INDICATORS.includes(text[at]!)) return FAIL;
  let stop = at;
  for (; stop < end; stop++) {
    const c = text.charCodeAt(stop);
    if (c === 58 /* : */) {
      const next = text.charCodeAt(stop + 1);
      if (stop + 1 === end || next === 32 || (inFlow && (next === 44 || next === 125 || next === 93))) break;
    } else if (inFlow && (c === 44 || c === 125 || c === 93 || c === 123 || c === 91)) break;
    else if (c === 35 /* # */ && text.charCodeAt(stop - 1) === 32) return FAIL;
  }
  // Spaces before a flow separator are not part of the scalar; js-yaml trims them too, but
  // the writers never put them there: leave such text to it.
  if (text.charCodeAt(stop - 1) === 32) return FAIL;
  scanned = stop;
  return text.slice(at, stop);
}

/** Characters a plain scalar may not start with (`-`, `?`, `:` may, before a non-space: not taken here either). */
const INDICATORS = '-?:,[]{}#&*!|>\'"%@` ';
