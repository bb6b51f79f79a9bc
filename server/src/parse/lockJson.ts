/**
 * What the JSON lockfile parsers (package-lock.json, npm-shrinkwrap.json, bun.lock) share:
 * refusing text that is not the format at all with a message and a span a person can act
 * on, finding the exact span of the keys that name packages, and reading the edges a
 * package.json-shaped entry declares (declaredEdges).
 *
 * Why not jsonc-parser's parseTree: a 20k-package lockfile is ~10 MB, and parseTree alone
 * costs 5-8x a native JSON.parse before any model is built. Values come from JSON.parse
 * (jsonc-parser's parse for bun.lock, which is JSONC); the key spans from findKeysInOrder
 * (indexOf, in document order) with a jsonc-parser token scan as the exact fallback. The
 * whole package-lock parse, model and edges included, measures ~4x JSON.parse on
 * uptime-kuma (test/unit/npmLock.test.ts prints the ratio).
 */
import { createScanner, parse, printParseErrorCode, SyntaxKind, type ParseError } from 'jsonc-parser';
import { FileParseError, type EdgeKind, type LockEdge, type Span } from '../model/inventory';
import { findConflictMarker, LineIndex } from './textPosition';

/** Throws when a merge left `<<<<<<<`/`=======`/`>>>>>>>` lines: such a file is no lockfile. */
export function rejectConflictMarkers(file: string, text: string): void {
  const at = findConflictMarker(text);
  if (at < 0) return;
  const line = new LineIndex(text).positionAt(at).line + 1;
  const lineEnd = text.indexOf('\n', at);
  throw new FileParseError(
    file,
    `merge conflict markers at line ${line} — resolve the conflict`,
    { start: at, end: lineEnd < 0 ? text.length : lineEnd },
  );
}

/**
 * Parses `text` as JSON, or as JSONC (comments, trailing commas) when `jsonc` is set, and
 * throws a FileParseError naming the first syntax error, its line and column, and its span.
 */
export function parseJsonOrThrow(file: string, rawText: string, what: string, jsonc = false): unknown {
  // A byte-order mark (some Windows editors add one) is no syntax error; a space in its
  // place keeps every offset the same.
  const text = rawText.charCodeAt(0) === 0xfeff ? ` ${rawText.slice(1)}` : rawText;
  if (!jsonc) {
    try {
      return JSON.parse(text);
    } catch {
      // Fall through to jsonc-parser, which says where and what, with offsets.
    }
  }
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, {
    allowTrailingComma: jsonc,
    disallowComments: !jsonc,
    allowEmptyContent: false,
  });
  const first = errors[0];
  if (first) throw syntaxError(file, text, what, first);
  if (!jsonc) {
    // JSON.parse refused what jsonc-parser accepted (it is more lenient in corners, e.g.
    // control characters in strings): still not valid JSON, but there is no offset to give.
    throw new FileParseError(file, `${what} is not valid JSON`);
  }
  return value;
}

function syntaxError(file: string, text: string, what: string, error: ParseError): FileParseError {
  // An error that runs into the end of the text (a cut-off string, a missing value or brace)
  // means the file was cut short, not mistyped.
  const atEnd = error.offset + error.length >= text.trimEnd().length;
  const { line, character } = new LineIndex(text).positionAt(error.offset);
  const where = `line ${line + 1}, column ${character + 1}`;
  const message = atEnd
    ? `${what} ends too early at ${where} (${printParseErrorCode(error.error)}): the file is truncated or half-written`
    : `${what} is not valid JSON at ${where}: ${printParseErrorCode(error.error)}`;
  const end = Math.min(text.length, error.offset + Math.max(error.length, 1));
  return new FileParseError(file, message, { start: Math.min(error.offset, text.length), end });
}

/** The span of a value the caller looked up by key at the top level, for messages. */
export function topLevelValueSpan(text: string, key: string): Span | undefined {
  let found: Span | undefined;
  const scanner = createScanner(text, true);
  let depth = 0;
  let expectKey = false;
  let afterWantedKey = false;
  for (let token = scanner.scan(); token !== SyntaxKind.EOF && !found; token = scanner.scan()) {
    if (afterWantedKey && token !== SyntaxKind.ColonToken) {
      const start = scanner.getTokenOffset();
      found = { start, end: start + scanner.getTokenLength() };
      break;
    }
    switch (token) {
      case SyntaxKind.OpenBraceToken:
        depth++;
        expectKey = depth === 1;
        break;
      case SyntaxKind.OpenBracketToken:
        depth++;
        break;
      case SyntaxKind.CloseBraceToken:
      case SyntaxKind.CloseBracketToken:
        depth--;
        break;
      case SyntaxKind.CommaToken:
        expectKey = depth === 1;
        break;
      case SyntaxKind.StringLiteral:
        if (expectKey && depth === 1 && scanner.getTokenValue() === key) afterWantedKey = true;
        expectKey = false;
        break;
      default:
        break;
    }
  }
  return found;
}

/**
 * Calls `onKey` for every property key in the document with the keys of the properties
 * that enclose it (`path`, outermost first; an array level contributes ""), the decoded key
 * and the span of the key as written, quotes included. `path` is reused between calls:
 * read it, don't keep it. Call only on text that already parsed: errors are not reported.
 */
export function scanPropertyKeys(
  text: string,
  onKey: (path: readonly string[], key: string, start: number, end: number) => void,
): void {
  const scanner = createScanner(text, true);
  const path: string[] = [];
  // One entry per open container: true for an object, false for an array.
  const inObject: boolean[] = [];
  let expectKey = false;
  let lastKey = '';
  for (let token = scanner.scan(); token !== SyntaxKind.EOF; token = scanner.scan()) {
    switch (token) {
      case SyntaxKind.OpenBraceToken:
      case SyntaxKind.OpenBracketToken: {
        const depth = inObject.length;
        if (depth > 0) path.push(inObject[depth - 1] ? lastKey : '');
        const isObject = token === SyntaxKind.OpenBraceToken;
        inObject.push(isObject);
        expectKey = isObject;
        break;
      }
      case SyntaxKind.CloseBraceToken:
      case SyntaxKind.CloseBracketToken:
        inObject.pop();
        if (inObject.length > 0) path.pop();
        expectKey = false;
        break;
      case SyntaxKind.CommaToken:
        expectKey = inObject[inObject.length - 1] === true;
        break;
      case SyntaxKind.StringLiteral:
        if (expectKey) {
          lastKey = scanner.getTokenValue();
          const start = scanner.getTokenOffset();
          onKey(path, lastKey, start, start + scanner.getTokenLength());
          expectKey = false;
        }
        break;
      default:
        break;
    }
  }
}

/**
 * Spans of the keys of one object, found with indexOf instead of a token scan: `keys` must
 * be in document order (Object.keys of JSON.parse's result, which keeps it for non-integer
 * keys) and each is looked for after `from` and the previous one, written as JSON.stringify writes it,
 * preceded by `{` or `,` and followed by `:` (so never a string value). `isValueStart`
 * checks how the value starts (`{` for a package-lock entry), which keeps a same-named
 * key nested in the previous entry (a dependency name, a string value) from matching. Returns null as soon as a
 * key is not found that way (escapes written differently, integer-like keys that
 * Object.keys reorders): the caller then falls back to scanPropertyKeys.
 */
function findKeysInOrder(
  text: string,
  from: number,
  keys: readonly string[],
  isValueStart: (text: string, at: number) => boolean,
): Map<string, Span> | null {
  const spans = new Map<string, Span>();
  for (const key of keys) {
    const quoted = JSON.stringify(key);
    let at = text.indexOf(quoted, from);
    for (;;) {
      if (at < 0) return null;
      const end = at + quoted.length;
      const colon = skipWhitespace(text, end, 1);
      if (
        text.charCodeAt(colon) === 58 /* : */ &&
        isValueStart(text, skipWhitespace(text, colon + 1, 1)) &&
        isKeyOpener(text.charCodeAt(skipWhitespace(text, at - 1, -1)))
      ) {
        spans.set(key, { start: at, end });
        from = end;
        break;
      }
      at = text.indexOf(quoted, at + 1);
    }
  }
  return spans;
}

function isKeyOpener(char: number): boolean {
  return char === 123 /* { */ || char === 44 /* , */;
}

/**
 * Spans of the keys of the top-level "packages" object (package-lock, bun.lock). The fast
 * path finds them in order with indexOf (about a tenth of a token scan), trusting a key
 * only where `isValueStart` says an entry's value begins after it; the token scan is the
 * exact fallback for unusual files.
 */
export function packagesKeySpans(text: string, entries: Record<string, unknown>, isValueStart: (text: string, at: number) => boolean): Map<string, Span> {
  const packagesAt = text.search(/"packages"\s*:\s*\{/);
  const fast = packagesAt < 0 ? null : findKeysInOrder(text, packagesAt + 10, Object.keys(entries), isValueStart);
  if (fast) return fast;
  const spans = new Map<string, Span>();
  scanPropertyKeys(text, (path, key, start, end) => {
    if (path.length === 1 && path[0] === 'packages') spans.set(key, { start, end });
  });
  return spans;
}

export function skipWhitespace(text: string, at: number, step: 1 | -1): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i += step;
  }
}

/** "a string", "null", "an array", ... for messages about a value of the wrong type. */
export function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** Narrowing helpers for values read from a parsed lockfile. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A `{ name: spec }` object, or null; callers skip specs that are not strings. */
export function stringMap(value: unknown): Record<string, string> | null {
  if (!isRecord(value)) return null;
  return value as Record<string, string>;
}

/**
 * The edges a package.json-shaped entry declares (package-lock and bun.lock entries, and
 * their workspaces), each resolved to a package id by the format's own lookup. `withDev`
 * only for importers: a dependency's devDependencies are never installed. An optional
 * peer installs nothing — the package uses it only when something else brought it in —
 * and npm's own dev/optional flags ignore such edges (uptime-kuma: typescript is "dev"
 * although nostr-tools, a prod package, lists it as an optional peer), so they are left
 * out and the graph pass agrees with npm. Unresolvable edges are skipped: package managers
 * leave out optional dependencies for other platforms and do not record every unmet peer.
 */
export function declaredEdges(
  entry: Record<string, unknown>,
  from: string,
  resolve: (name: string) => string | null,
  options: { withDev: boolean; optionalPeers?: ReadonlySet<string> },
): LockEdge[] {
  const edges: LockEdge[] = [];
  const add = (deps: unknown, kind: EdgeKind, skip?: ReadonlySet<string>) => {
    const map = stringMap(deps);
    if (!map) return;
    for (const name of Object.keys(map)) {
      if (skip?.has(name)) continue;
      const to = resolve(name);
      if (to !== null && to !== from) addEdge(edges, to, kind);
    }
  };
  add(entry.dependencies, 'prod');
  add(entry.optionalDependencies, 'optional');
  add(entry.peerDependencies, 'peer', options.optionalPeers);
  if (options.withDev) add(entry.devDependencies, 'dev');
  return edges;
}

/** Adds an edge unless the same one is there already. */
export function addEdge(edges: LockEdge[], to: string, kind: EdgeKind): void {
  for (const e of edges) if (e.to === to && e.kind === kind) return;
  edges.push({ to, kind });
}
