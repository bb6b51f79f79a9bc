/**
 * Yarn 1's lockfile syntax (yarn.lock classic): read with Yarn 1's own parser,
 * @yarnpkg/lockfile, and first with a fast reader for the form Yarn itself writes.
 *
 * Why a second reader: @yarnpkg/lockfile's tokenizer slices the rest of the text after
 * every token and yields each through a generator; on a 5k-package yarn.lock that took
 * 80-170 ms and most of a warm audit's garbage collection (npm run bench), where JSON.parse
 * of the same packages takes 20. The fast reader takes the file line by line and accepts
 * only what Yarn's stringifier writes: two-space indentation, `key value` and `key:` lines,
 * `"quoted"` strings without escapes, unquoted words, true/false and integers, blank and
 * `#` lines between entries. Anything else (escapes, tabs, CRLF, odd indentation, a blank
 * line inside an entry, a truncated file) returns null and Yarn's parser reads the text,
 * so every unusual file gets exactly Yarn's reading and Yarn's errors. The two readers
 * must agree on every file the fast one accepts: test/unit/yarnLock.test.ts holds them to
 * it on every yarn.lock the tests have.
 */
import { parse as parseClassicLockfile } from '@yarnpkg/lockfile';
import { FileParseError, type Span } from '../model/inventory';
import { closingQuoteWithoutEscapes, LineIndex } from './textPosition';

/** A yarn.lock classic as Yarn reads it: key -> value, every key of an entry sharing its object. */
export type ClassicObject = Record<string, unknown>;

export interface ClassicDocument {
  object: ClassicObject;
  /**
   * Where each top-level entry's key line is (the keys as written, without the colon), by
   * the entry's object; null when Yarn's parser read the file (the caller scans for them).
   */
  spans: Map<ClassicObject, Span> | null;
}

export function readClassicLockfile(file: string, text: string, what: string): ClassicDocument {
  return readAsYarnWrites(text) ?? { object: readWithYarn(file, text, what), spans: null };
}

/**
 * The fast reader: the same object @yarnpkg/lockfile builds (null-prototype objects, later
 * keys overwriting earlier ones), or null for anything outside the form Yarn writes.
 */
export function readAsYarnWrites(text: string): ClassicDocument | null {
  // A BOM, tabs, CRs and other control characters (JSON strings may not hold them raw).
  if (text.charCodeAt(0) === 0xfeff || /[\x00-\x09\x0b-\x1f]/.test(text)) return null;
  const root: ClassicObject = Object.create(null);
  const spans = new Map<ClassicObject, Span>();
  /** open[d]: the object that lines indented 2*d spaces add to. */
  const open: ClassicObject[] = [root];
  /** The deepest level the next line may have: one below an opened object, else the same. */
  let deepest = 0;
  /** A blank or comment line since the last entry line: only a new top-level entry may follow. */
  let between = false;
  const keys: string[] = [];
  for (let pos = 0; pos < text.length; ) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let at = pos;
    while (at < end && text.charCodeAt(at) === 32) at++;
    const indent = at - pos;
    const lineStart = pos;
    pos = end + 1;
    if (at === end || text.charCodeAt(at) === 35 /* # */) {
      if (indent > 0) return null; // an indented blank or comment line ends entries early in Yarn's reading
      // Yarn refuses a lockfile of a later version than 1 in its header comment.
      if (at < end && /^#\s*yarn lockfile v(?!1\s*$)\d/.test(text.slice(at, end))) return null;
      between = true;
      continue;
    }
    const level = indent >> 1;
    if (indent % 2 === 1 || level > deepest || (between && level > 0)) return null;
    between = false;
    // The keys: one, or several separated by ", ".
    keys.length = 0;
    for (;;) {
      const key = scalar(text, at, end);
      if (key === FAIL || typeof key !== 'string' || key === '') return null;
      keys.push(key);
      at = scanned;
      if (text.charCodeAt(at) !== 44 /* , */) break;
      at++;
      while (text.charCodeAt(at) === 32) at++;
    }
    const target = open[level]!;
    if (text.charCodeAt(at) === 58 /* : */ && at + 1 === end) {
      const object: ClassicObject = Object.create(null);
      for (const key of keys) target[key] = object;
      if (level === 0) spans.set(object, { start: lineStart, end: at });
      open[level + 1] = object;
      deepest = level + 1;
      continue;
    }
    if (text.charCodeAt(at) !== 32) return null;
    const value = scalar(text, at + 1, end);
    if (value === FAIL || scanned !== end) return null;
    for (const key of keys) target[key] = value;
    deepest = level;
  }
  return { object: root, spans };
}

const FAIL = Symbol('not in the form Yarn writes');
/** Where the last scalar() call stopped. */
let scanned = 0;

/**
 * One key or value at `at`, as Yarn's tokenizer reads it: a quoted string (here: without
 * escapes), true/false, an integer, or an unquoted word running to `:`, `,`, a space or the
 * line's end. Sets `scanned` past it.
 */
function scalar(text: string, at: number, end: number): string | number | boolean | typeof FAIL {
  const first = text.charCodeAt(at);
  if (first === 34 /* " */) {
    const close = closingQuoteWithoutEscapes(text, at, end);
    if (close < 0) return FAIL;
    scanned = close + 1;
    return text.slice(at + 1, close);
  }
  let stop = at;
  for (; stop < end; stop++) {
    const c = text.charCodeAt(stop);
    if (c === 58 /* : */ || c === 44 /* , */ || c === 32) break;
  }
  const word = text.slice(at, stop);
  scanned = stop;
  // Yarn reads a word starting with "true"/"false" or a digit as a boolean or number token
  // and the rest as another token: only the plain forms are taken here.
  if (word.startsWith('true') || word.startsWith('false')) return word === 'true' ? true : word === 'false' ? false : FAIL;
  if (first >= 48 && first <= 57) return /^[0-9]+$/.test(word) ? Number(word) : FAIL;
  return /^[a-zA-Z/.-]/.test(word) ? word : FAIL;
}

/** Runs Yarn 1's parser, turning its errors (and its two ways to hang) into FileParseErrors. */
function readWithYarn(file: string, text: string, what: string): Record<string, unknown> {
  function fail(reason: string, offset: number): never {
    const at = new LineIndex(text).positionAt(offset);
    const end = Math.max(offset + 1, text.indexOf('\n', offset) < 0 ? text.length : text.indexOf('\n', offset));
    throw new FileParseError(file, `${what} is not a valid yarn lockfile v1: ${reason} at line ${at.line + 1}, column ${at.character + 1}`, { start: offset, end });
  }
  // Yarn 1's tokenizer loops forever on a string or a comment that reaches the end of the
  // text (a truncated file): refuse an unterminated string, and end the text with a newline.
  const open = unterminatedString(text);
  if (open >= 0) fail('a quoted string is not closed (truncated file?)', open);
  let result: ReturnType<typeof parseClassicLockfile>;
  try {
    result = parseClassicLockfile(text.endsWith('\n') ? text : `${text}\n`, what);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = / (\d+):\d+ in /.exec(message);
    if (position) {
      const reason = message.slice(0, position.index).replace(/: \{[\s\S]*\}$/, '');
      fail(reason.toLowerCase(), offsetOfYarnLine(text, Number(position[1])));
    }
    if (message === 'Invalid number of spaces') {
      const odd = /^(?: {2})* (?=\S)/m.exec(text);
      fail('an odd number of spaces of indentation', odd ? odd.index : 0);
    }
    fail(message.split('\n')[0]!, text.length > 0 ? text.length - 1 : 0);
  }
  // "merge"/"conflict" means it saw <<<<<<< ======= >>>>>>> somewhere (not at a line start,
  // or rejectConflictMarkers would have refused the file): do not trust its automatic merge.
  if (result.type !== 'success') fail('merge conflict markers inside the text', Math.max(0, text.indexOf('<<<<<<<')));
  return result.object as Record<string, unknown>;
}

/**
 * Where Yarn 1's tokenizer says line `line` starts. It counts lines its own way: a newline
 * followed by another newline is read as one (meant for "\r\n"), so past a blank line its
 * numbers run behind the file's; replaying that count finds the real line. Its column is
 * as unreliable, so the offset is that line's first non-space character.
 */
function offsetOfYarnLine(text: string, line: number): number {
  let i = 0;
  for (let current = 1; current < line && i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) {
      i += text.charCodeAt(i + 1) === 10 ? 2 : 1;
      current++;
    } else i++;
  }
  while (text.charCodeAt(i) === 32) i++;
  return Math.min(i, Math.max(0, text.length - 1));
}

/** Offset of a `"` that no later `"` on its line closes, outside comments; -1 if none. */
function unterminatedString(text: string): number {
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    let i = lineStart;
    while (i < lineEnd && text.charCodeAt(i) === 32) i++;
    if (text.charCodeAt(i) !== 35 /* # */) {
      for (let open = -1; i < lineEnd; i++) {
        const c = text.charCodeAt(i);
        if (c === 92 /* \ */ && open >= 0) i++;
        else if (c === 34 /* " */) open = open >= 0 ? -1 : i;
        if (i + 1 >= lineEnd && open >= 0) return open;
      }
    }
    lineStart = lineEnd + 1;
  }
  return -1;
}

