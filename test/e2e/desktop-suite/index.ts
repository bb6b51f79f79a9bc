/**
 * The in-editor half of the desktop suite (test/e2e/desktop.test.ts): @vscode/test-electron
 * loads this file, bundled to JavaScript, into the extension host of a desktop VS Code that has
 * the packaged Install Guard loaded and a copy of the example workspace open, and calls run().
 * It walks the same user scenario as the code-server tier through the `vscode` API:
 * diagnostics on package.json, a hover, the preferred quick fix applied and saved, package.json
 * changed on disk, the diagnostic gone. A thrown error fails the run (VS Code exits non-zero).
 *
 * What to expect comes from the runner in IG_E2E_EXPECT (JSON, see SuiteExpectation): the CLI's
 * own audit of the same copy against the same loopback registry.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';

/** Handed over by desktop.test.ts in the environment variable IG_E2E_EXPECT. */
export interface SuiteExpectation {
  /** One unreviewed-install-script warning per package, on package.json (1-based lines). */
  warnings: { key: string; name: string; line: number; message: string }[];
  /** The dependency to hover and allow, its locked version and its install scripts. */
  subject: { name: string; version: string; scripts: Record<string, string> };
}

const SOURCE = 'Install Guard';
const UNREVIEWED = 'unreviewed-install-script';
const EXTENSION_ID = 'install-guard.install-guard';

export async function run(): Promise<void> {
  const expect = JSON.parse(process.env.IG_E2E_EXPECT ?? 'null') as SuiteExpectation | null;
  assert.ok(expect, 'IG_E2E_EXPECT is not set: run this suite through test/e2e/desktop.test.ts');
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'VS Code opened no workspace folder');
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not loaded`);
  const manifest = vscode.Uri.joinPath(folder.uri, 'package.json');

  const steps: [string, () => Promise<void>][] = [];
  const step = (name: string, body: () => Promise<void>) => steps.push([name, body]);
  let document: vscode.TextDocument | undefined;

  step('package.json shows a warning for each unreviewed install script', async () => {
    document = await vscode.workspace.openTextDocument(manifest);
    await vscode.window.showTextDocument(document);
    await extension.activate();
    const found = await waitFor(() => {
      const mine = unreviewedOn(manifest);
      return expect.warnings.every((w) => mine.some((d) => matches(d, w))) ? mine : undefined;
    }, 90_000, () => `diagnostics on package.json: ${describe(vscode.languages.getDiagnostics(manifest))}`);
    assert.deepEqual(
      found.map((d) => ({ line: d.range.start.line + 1, message: firstLine(d.message) })).sort((a, b) => a.line - b.line),
      expect.warnings.map((w) => ({ line: w.line, message: w.message })),
    );
    for (const d of found) assert.equal(d.severity, vscode.DiagnosticSeverity.Warning);
  });

  step(`hovering ${expect.subject.name} shows its install command and "unreviewed"`, async () => {
    const position = positionOf(document!, `"${expect.subject.name}"`, 1);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', manifest, position);
    const text = hovers.flatMap((h) => h.contents.map(contentText)).join('\n');
    assert.ok(text.includes(`${expect.subject.name}@${expect.subject.version}`), text);
    for (const [hook, command] of Object.entries(expect.subject.scripts)) {
      assert.ok(text.includes(hook) && text.includes(command), `the hover shows "${hook}: ${command}":\n${text}`);
    }
    assert.match(text, /unreviewed/);
  });

  step(`the preferred quick fix allows ${expect.subject.name}; saved, package.json has it and the warning goes`, async () => {
    const key = `${expect.subject.name}@${expect.subject.version}`;
    const diagnostic = unreviewedOn(manifest).find((d) => d.message.startsWith(`${key} runs `));
    assert.ok(diagnostic, `a warning about ${key}`);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider', manifest, diagnostic.range, vscode.CodeActionKind.QuickFix.value,
    );
    // (The API's converted actions do not carry their diagnostics back: the range selects them.)
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, `one preferred fix; offered: ${JSON.stringify(actions.map((a) => [a.title, a.isPreferred]))}`);
    const fix = preferred[0]!;
    assert.match(fix.title, /^Allow\b/);
    assert.ok(fix.title.includes(key), fix.title);
    assert.ok(fix.edit, `"${fix.title}" carries an edit`);
    assert.ok(await vscode.workspace.applyEdit(fix.edit), 'VS Code applied the edit');
    assert.ok(await document!.save(), 'package.json saved');
    const onDisk = JSON.parse(readFileSync(manifest.fsPath, 'utf8')) as { allowScripts?: Record<string, unknown> };
    const entries = Object.entries(onDisk.allowScripts ?? {}).filter(([k]) => k === expect.subject.name || k.startsWith(`${expect.subject.name}@`));
    assert.ok(entries.length === 1 && entries[0]![1] === true, `allowScripts on disk: ${JSON.stringify(onDisk.allowScripts)}`);
    await waitFor(() => (unreviewedOn(manifest).some((d) => d.message.startsWith(`${key} runs `)) ? undefined : true), 30_000,
      () => `the ${key} warning stayed: ${describe(vscode.languages.getDiagnostics(manifest))}`);
    const others = expect.warnings.filter((w) => w.key !== key);
    assert.deepEqual(unreviewedOn(manifest).map((d) => firstLine(d.message)).sort(), others.map((w) => w.message).sort());
  });

  // Mocha-like output in the runner's log, and the first failure ends the run.
  for (const [index, [name, body]] of steps.entries()) {
    const started = Date.now();
    try {
      await body();
      console.log(`ok ${index + 1} - ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      console.log(`not ok ${index + 1} - ${name}`);
      throw error;
    }
  }
}

function unreviewedOn(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === SOURCE && codeOf(d) === UNREVIEWED);
}

/** With a codeDescription link the code arrives as { value, target }. */
function codeOf(d: vscode.Diagnostic): string | undefined {
  const code = d.code;
  if (code === undefined) return undefined;
  return typeof code === 'object' ? String(code.value) : String(code);
}

function matches(d: vscode.Diagnostic, w: SuiteExpectation['warnings'][number]): boolean {
  return d.range.start.line + 1 === w.line && firstLine(d.message) === w.message;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/\s+/g, ' ').trim();
}

/** A position `offset` characters into the first occurrence of `needle` (inside the name). */
function positionOf(document: vscode.TextDocument, needle: string, offset: number): vscode.Position {
  const at = document.getText().indexOf(needle);
  assert.ok(at >= 0, `"${needle}" is not in ${document.uri.fsPath}`);
  return document.positionAt(at + offset);
}

/** A hover's text as a reader sees it: Markdown's backslash escapes removed (`sharp\@0\.34\.5`). */
function contentText(content: vscode.MarkdownString | vscode.MarkedString): string {
  const source = typeof content === 'string' ? content : content.value;
  return source.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

function describe(diagnostics: readonly vscode.Diagnostic[]): string {
  return JSON.stringify(diagnostics.map((d) => ({ line: d.range.start.line + 1, source: d.source, code: codeOf(d), message: firstLine(d.message) })), null, 1);
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, explain: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${explain()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
