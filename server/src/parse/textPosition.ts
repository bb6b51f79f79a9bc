/**
 * Offsets <-> line/character for the spans in the model. Parsers keep UTF-16 offsets
 * (what jsonc-parser and yaml report); presenters (LSP, SARIF, text) need lines.
 */

export interface LineCharacter {
  /** Zero-based line. */
  line: number;
  /** Zero-based UTF-16 column. */
  character: number;
}

export class LineIndex {
  /** Typed, and no reference to the text: a presenter keeps one per file it points into. */
  private readonly lineStarts: Uint32Array;
  private readonly length: number;

  constructor(text: string) {
    this.length = text.length;
    const starts = [0];
    if (text.indexOf('\r') < 0) {
      // The common case, and a 20 MB lockfile's: indexOf scans far faster than a char loop.
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    } else {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 13 /* \r */) {
          if (text.charCodeAt(i + 1) === 10) i++;
          starts.push(i + 1);
        } else if (c === 10 /* \n */) {
          starts.push(i + 1);
        }
      }
    }
    this.lineStarts = Uint32Array.from(starts);
  }

  positionAt(offset: number): LineCharacter {
    const clamped = Math.max(0, Math.min(offset, this.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= clamped) low = mid;
      else high = mid - 1;
    }
    return { line: low, character: clamped - this.lineStarts[low]! };
  }

  offsetAt(position: LineCharacter): number {
    if (position.line >= this.lineStarts.length) return this.length;
    const start = this.lineStarts[Math.max(0, position.line)]!;
    return Math.min(start + Math.max(0, position.character), this.length);
  }
}

/** Where a merge left conflict markers; such files are reported, not half-parsed. */
export function findConflictMarker(text: string): number {
  const match = /^(<{7}|={7}|>{7})(?: |$)/m.exec(text);
  return match ? match.index : -1;
}

/**
 * Where the `"` that closes a double-quoted string starting at `at` is, when it closes
 * before `end` (the line's end) and the string holds no backslash; -1 otherwise. The fast
 * lockfile readers take such strings as they are and leave escapes to the tools' parsers.
 */
export function closingQuoteWithoutEscapes(text: string, at: number, end: number): number {
  const close = text.indexOf('"', at + 1);
  if (close < 0 || close >= end) return -1;
  for (let i = at + 1; i < close; i++) if (text.charCodeAt(i) === 92 /* \\ */) return -1;
  return close;
}
