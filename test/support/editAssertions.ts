/**
 * Helpers for the fix-edit tests: load a made project from test/fixtures/edits, apply a
 * fix in memory, and check that nothing outside the edited spans moved.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyFixEdit } from '../../server/src/policy/edits/applyEdits';
import type { ProjectTexts } from '../../server/src/policy/edits/editSession';
import type { FixEdit, NativePolicy, PolicyTool } from '../../server/src/policy/types';
import type { PackageManagerName } from '../../server/src/model/inventory';

export const editFixtures = join(__dirname, '..', 'fixtures', 'edits');

export function loadEditFixture(name: string): ProjectTexts {
  const root = join(editFixtures, name);
  const files = new Map<string, string>();
  for (const file of readdirSync(root)) files.set(join(root, file), readFileSync(join(root, file), 'utf8'));
  return { root, files };
}

export function handMadePolicy(tool: PolicyTool, version: string | null, root: string, extra: Partial<NativePolicy> = {}): NativePolicy {
  const manager: PackageManagerName = tool === 'lavamoat' ? 'npm' : tool;
  return {
    settings: { tool, manager, version, versionSource: version ? 'package.json "packageManager"' : null, scriptsDisabled: null, allowAll: null, strict: null },
    rules: [],
    inactiveRules: [],
    problems: [],
    files: [join(root, 'package.json')],
    root,
    ...extra,
  };
}

/** The project after the fix: changed files replaced, new ones added. */
export function afterFix(texts: ProjectTexts, fix: Pick<FixEdit, 'edits'>): ProjectTexts {
  const files = new Map(texts.files);
  for (const [file, text] of applyFixEdit(texts.files, fix)) files.set(file, text);
  return { root: texts.root, files };
}

/** Every byte outside the fix's spans is where it was, and each span really changed. */
export function assertOnlySpansChanged(before: ProjectTexts, after: ProjectTexts, fix: Pick<FixEdit, 'edits'>): void {
  const files = new Set(fix.edits.map((e) => e.file));
  for (const [file, text] of before.files) if (!files.has(file)) assert.equal(after.files.get(file), text, `${file} must be untouched`);
  for (const file of files) {
    const old = before.files.get(file) ?? '';
    const now = after.files.get(file)!;
    const edits = fix.edits.filter((e) => e.file === file).sort((a, b) => a.span.start - b.span.start);
    assert.equal(now.slice(0, edits[0]!.span.start), old.slice(0, edits[0]!.span.start), 'prefix before the first edit is byte-identical');
    const tail = old.length - edits[edits.length - 1]!.span.end;
    assert.equal(now.slice(now.length - tail), old.slice(old.length - tail), 'suffix after the last edit is byte-identical');
    let cursor = 0;
    let position = 0;
    for (const edit of edits) {
      const untouched = old.slice(cursor, edit.span.start);
      assert.equal(now.slice(position, position + untouched.length), untouched, 'text between edits is byte-identical');
      position += untouched.length + edit.newText.length;
      assert.notEqual(old.slice(edit.span.start, edit.span.end), edit.newText, 'an edit changes something');
      cursor = edit.span.end;
    }
  }
}

/** Line ends stay what the file used. */
export function assertEol(text: string, eol: '\n' | '\r\n'): void {
  const lone = /(^|[^\r])\n/.test(text);
  if (eol === '\r\n') assert.ok(!lone && text.includes('\r\n'), 'CRLF file keeps CRLF on every line');
  else assert.ok(!text.includes('\r'), 'LF file gains no CR');
}
