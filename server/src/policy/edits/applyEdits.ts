/**
 * Applying fixes: TextEdits against the current text of each file, sorted, checked for
 * overlap and range, applied in one pass. The CLI (`install-guard allow|deny`) and the
 * tests apply them here; the editor applies the same edits as a WorkspaceEdit. Also the
 * composer the edit builders use to turn a sequence of small edits (each made against
 * the text left by the previous one) into edits against the text the caller gave us.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Span } from '../../model/inventory';
import type { FixEdit, TextEdit } from '../types';

/** A fix cannot be written without damaging the file; the message says why and what to do. */
export class EditRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EditRefusedError';
  }
}

/** An edit of one text, before it is given a file name. */
export interface LocalEdit {
  start: number;
  end: number;
  newText: string;
}

/** Sorted by start; rejects spans outside the text and edits that overlap (ambiguous). */
export function validateEdits<E extends { span: Span }>(text: string, edits: readonly E[], file = 'the file'): E[] {
  for (const edit of edits) {
    const { start, end } = edit.span;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > text.length) {
      throw new EditRefusedError(`an edit of ${file} spans ${start}..${end}, outside its ${text.length} characters: the file changed since the fix was computed`);
    }
  }
  // A stable sort keeps the given order of several insertions at one offset.
  const sorted = edits.map((edit, index) => ({ edit, index })).sort((a, b) => a.edit.span.start - b.edit.span.start || a.index - b.index);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!.edit.span;
    const current = sorted[i]!.edit.span;
    const bothInserts = previous.start === previous.end && current.start === current.end;
    if (current.start < previous.end || (current.start === previous.start && !bothInserts && previous.end > previous.start)) {
      throw new EditRefusedError(`two edits of ${file} overlap (${previous.start}..${previous.end} and ${current.start}..${current.end})`);
    }
  }
  return sorted.map((s) => s.edit);
}

/** The text after the edits, all of whose spans refer to `text`. */
export function applyTextEdits(text: string, edits: readonly { span: Span; newText: string }[], file?: string): string {
  let result = '';
  let cursor = 0;
  for (const edit of validateEdits(text, edits, file)) {
    result += text.slice(cursor, edit.span.start) + edit.newText;
    cursor = edit.span.end;
  }
  return result + text.slice(cursor);
}

/**
 * Applies a fix to the given texts (absolute path -> current text; a file that is absent
 * from the map does not exist and may only be created by edits at offset 0). Returns the
 * new text of every file the fix touches.
 */
export function applyFixEdit(texts: ReadonlyMap<string, string>, fix: Pick<FixEdit, 'edits'>): Map<string, string> {
  const byFile = new Map<string, TextEdit[]>();
  for (const edit of fix.edits) {
    const list = byFile.get(edit.file) ?? [];
    list.push(edit);
    byFile.set(edit.file, list);
  }
  const result = new Map<string, string>();
  for (const [file, edits] of byFile) {
    result.set(file, applyTextEdits(texts.get(file) ?? '', edits, file));
  }
  return result;
}

export interface FixFileIo {
  readText(file: string): Promise<string | null>;
  writeText(file: string, text: string): Promise<void>;
}

const diskIo: FixFileIo = {
  async readText(file) {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  },
  writeText: (file, text) => writeFile(file, text, 'utf8'),
};

/**
 * For the CLI: read every file the fix touches, check that each still has the text the
 * fix was computed against (`expected`), apply and write. Nothing is written unless every
 * file checks out, so a fix is applied whole or not at all.
 */
export async function applyFixToFiles(fix: Pick<FixEdit, 'edits'>, expected: ReadonlyMap<string, string>, io: FixFileIo = diskIo): Promise<string[]> {
  const files = [...new Set(fix.edits.map((e) => e.file))];
  const current = new Map<string, string>();
  for (const file of files) {
    const text = await io.readText(file);
    if ((text ?? null) !== (expected.get(file) ?? null)) {
      throw new EditRefusedError(`${file} changed since the fix was computed; run the command again`);
    }
    if (text !== null) current.set(file, text);
  }
  const updated = applyFixEdit(current, fix);
  for (const [file, text] of updated) await io.writeText(file, text);
  return [...updated.keys()];
}

/** The smallest single edit turning `before` into `after` (common prefix and suffix kept). */
export function minimalEdit(before: string, after: string): LocalEdit | null {
  if (before === after) return null;
  let prefix = 0;
  const shorter = Math.min(before.length, after.length);
  while (prefix < shorter && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (
    suffix < shorter - prefix &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  ) suffix++;
  return { start: prefix, end: before.length - suffix, newText: after.slice(prefix, after.length - suffix) };
}

/**
 * Turns edits made one after another (each against the text the previous one left) into
 * non-overlapping edits against the original text. Edits that touch are merged; each
 * result is trimmed to what actually changed.
 */
export class EditComposer {
  private current: string;
  /** Against the original text: sorted, non-overlapping, not touching. */
  private edits: LocalEdit[] = [];

  constructor(readonly original: string) {
    this.current = original;
  }

  get text(): string {
    return this.current;
  }

  clone(): EditComposer {
    const copy = new EditComposer(this.original);
    copy.current = this.current;
    copy.edits = this.edits.map((e) => ({ ...e }));
    return copy;
  }

  /** Applies edits given against the current text (all computed on the same text). */
  apply(edits: readonly LocalEdit[]): void {
    const sorted = validateEdits(this.current, edits.map((e) => ({ span: { start: e.start, end: e.end }, newText: e.newText })));
    // Right to left, so the offsets of the ones still to apply stay valid.
    for (let i = sorted.length - 1; i >= 0; i--) {
      const edit = sorted[i]!;
      this.applyOne({ start: edit.span.start, end: edit.span.end, newText: edit.newText });
    }
  }

  /** Where an offset of the original text is now, for text no edit has touched. */
  mapOriginalOffset(offset: number): number {
    let shift = 0;
    for (const edit of this.edits) {
      if (edit.end <= offset) shift += edit.newText.length - (edit.end - edit.start);
      else if (edit.start < offset) return edit.start + shift + edit.newText.length;
    }
    return offset + shift;
  }

  result(): LocalEdit[] {
    const trimmed: LocalEdit[] = [];
    for (const edit of this.edits) {
      const local = minimalEdit(this.original.slice(edit.start, edit.end), edit.newText);
      if (local) trimmed.push({ start: edit.start + local.start, end: edit.start + local.end, newText: local.newText });
    }
    return trimmed;
  }

  private applyOne(edit: LocalEdit): void {
    // Current-text positions of the edits made so far.
    let shift = 0;
    const placed = this.edits.map((e, index) => {
      const start = e.start + shift;
      shift += e.newText.length - (e.end - e.start);
      return { ...e, index, currentStart: start, currentEnd: start + e.newText.length };
    });
    const touching = placed.filter((p) => p.currentEnd >= edit.start && p.currentStart <= edit.end);
    const next = this.current.slice(0, edit.start) + edit.newText + this.current.slice(edit.end);
    const growth = edit.newText.length - (edit.end - edit.start);
    if (touching.length === 0) {
      const before = placed.filter((p) => p.currentEnd < edit.start);
      const offset = before.reduce((sum, p) => sum + p.newText.length - (p.end - p.start), 0);
      this.edits.push({ start: edit.start - offset, end: edit.end - offset, newText: edit.newText });
    } else {
      const first = touching[0]!;
      const last = touching[touching.length - 1]!;
      const unionStart = Math.min(first.currentStart, edit.start);
      const unionEnd = Math.max(last.currentEnd, edit.end);
      const merged: LocalEdit = {
        start: first.start - (first.currentStart - unionStart),
        end: last.end + (unionEnd - last.currentEnd),
        newText: next.slice(unionStart, unionEnd + growth),
      };
      const merging = new Set(touching.map((t) => t.index));
      this.edits = this.edits.filter((_, index) => !merging.has(index));
      this.edits.push(merged);
    }
    this.edits.sort((a, b) => a.start - b.start);
    this.current = next;
  }
}
