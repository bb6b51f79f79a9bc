/**
 * A throwaway VS Code extension that proves the e2e harness end to end without the real
 * Install Guard extension: it puts a diagnostic on every install-script key in a package.json,
 * hovers dependency names, offers a quick fix that edits the file, shows a status bar item, a
 * tree view in the Explorer and a webview report. Each of these is something a harness helper
 * must be able to see or drive. Plain CommonJS, no dependencies, packaged with vsce.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageVsix } from './vsix';

export const SMOKE_EXTENSION_ID = 'install-guard-e2e.e2e-smoke';
export const SMOKE_COMMAND_TITLE = 'E2E Smoke: Show Report';
export const SMOKE_QUICK_FIX_TITLE = 'E2E Smoke: mark script as reviewed';
export const SMOKE_TREE_TITLE = 'E2E Smoke Dependencies';
export const SMOKE_NOTIFICATION = 'e2e-smoke: report opened';

const manifest = {
  name: 'e2e-smoke',
  displayName: 'Install Guard e2e smoke',
  description: 'Throwaway extension that exercises the Install Guard e2e harness.',
  version: '0.0.1',
  publisher: 'install-guard-e2e',
  license: 'MIT',
  engines: { vscode: '^1.91.0' },
  categories: ['Other'],
  activationEvents: ['onLanguage:json'],
  main: './extension.js',
  // Runs in Restricted Mode too, so the trust scenario can read isTrusted from the diagnostic.
  capabilities: { untrustedWorkspaces: { supported: true } },
  contributes: {
    commands: [{ command: 'e2eSmoke.showReport', title: 'Show Report', category: 'E2E Smoke' }],
    views: { explorer: [{ id: 'e2eSmoke.dependencies', name: SMOKE_TREE_TITLE }] },
  },
};

// The extension itself. Messages carry what the harness asserts (trust state, names).
const extensionSource = String.raw`
const vscode = require('vscode');

const SCRIPT_KEY = /"(preinstall|install|postinstall)"(\s*:)/g;

function dependencyNames(text) {
  try {
    const pkg = JSON.parse(text);
    return Object.keys(Object.assign({}, pkg.dependencies, pkg.devDependencies));
  } catch {
    return [];
  }
}

function activate(context) {
  const collection = vscode.languages.createDiagnosticCollection('e2e-smoke');
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 100);
  const treeChanged = new vscode.EventEmitter();
  let lastNames = [];
  const isManifest = (doc) => doc.uri.path.endsWith('/package.json');

  function check(doc) {
    if (!isManifest(doc)) return;
    const text = doc.getText();
    const diagnostics = [];
    for (const m of text.matchAll(SCRIPT_KEY)) {
      const start = doc.positionAt(m.index + 1);
      const end = doc.positionAt(m.index + 1 + m[1].length);
      const d = new vscode.Diagnostic(new vscode.Range(start, end),
        'e2e-smoke: install script "' + m[1] + '" is not reviewed (trusted=' + vscode.workspace.isTrusted + ')',
        vscode.DiagnosticSeverity.Warning);
      d.source = 'e2e-smoke';
      d.code = 'SMOKE001';
      diagnostics.push(d);
    }
    collection.set(doc.uri, diagnostics);
    lastNames = dependencyNames(text);
    status.text = '$(shield) e2e-smoke: ' + diagnostics.length + ' unreviewed';
    status.show();
    treeChanged.fire();
  }

  context.subscriptions.push(collection, status,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((e) => check(e.document)),
    vscode.languages.registerHoverProvider({ language: 'json', pattern: '**/package.json' }, {
      provideHover(doc, position) {
        const range = doc.getWordRangeAtPosition(position, /[@\w./-]+/);
        if (!range) return undefined;
        const word = doc.getText(range);
        if (!dependencyNames(doc.getText()).includes(word)) return undefined;
        const md = new vscode.MarkdownString();
        md.appendMarkdown('**e2e-smoke hover**\n\n');
        md.appendText('dependency ' + word + ' runs no install script');
        return new vscode.Hover(md, range);
      },
    }),
    vscode.languages.registerCodeActionsProvider({ language: 'json', pattern: '**/package.json' }, {
      provideCodeActions(doc, _range, ctx) {
        return ctx.diagnostics.filter((d) => d.source === 'e2e-smoke').map((d) => {
          const action = new vscode.CodeAction('${SMOKE_QUICK_FIX_TITLE}', vscode.CodeActionKind.QuickFix);
          action.diagnostics = [d];
          action.isPreferred = true;
          action.edit = new vscode.WorkspaceEdit();
          action.edit.replace(doc.uri, d.range, 'reviewed-' + doc.getText(d.range));
          return action;
        });
      },
    }, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    vscode.window.registerTreeDataProvider('e2eSmoke.dependencies', {
      onDidChangeTreeData: treeChanged.event,
      getChildren: () => lastNames,
      getTreeItem: (name) => new vscode.TreeItem('dep: ' + name),
    }),
    vscode.commands.registerCommand('e2eSmoke.showReport', () => {
      const panel = vscode.window.createWebviewPanel('e2eSmokeReport', 'E2E Smoke Report', vscode.ViewColumn.Active, {});
      const items = lastNames.map((n) => '<li>' + n.replace(/[<&>]/g, '') + '</li>').join('');
      panel.webview.html = '<!DOCTYPE html><html><body><h1>E2E smoke report</h1><p id="count">'
        + lastNames.length + ' dependencies</p><ul>' + items + '</ul></body></html>';
      vscode.window.showInformationMessage('${SMOKE_NOTIFICATION}');
    }),
  );
  vscode.workspace.textDocuments.forEach(check);
}

module.exports = { activate, deactivate() {} };
`;

/** Writes the extension into `dir` and packages it; returns the .vsix path. */
export async function buildSmokeExtension(dir: string): Promise<string> {
  const src = join(dir, 'e2e-smoke');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(src, 'extension.js'), extensionSource);
  writeFileSync(join(src, 'README.md'), '# e2e smoke\n\nThrowaway extension for the Install Guard e2e harness.\n');
  return packageVsix(src, join(dir, 'e2e-smoke-0.0.1.vsix'));
}

export const SMOKE_NOTES_NEEDLE = 'the needle on line 200';

/** A sample folder: a package.json with one install script and two dependencies, and notes.txt. */
export function writeSmokeWorkspace(dir: string): string {
  const ws = join(dir, 'workspace');
  mkdirSync(ws, { recursive: true });
  const pkg = {
    name: 'smoke-workspace',
    version: '1.0.0',
    private: true,
    scripts: { postinstall: 'node setup.js' },
    dependencies: { 'left-pad': '^1.3.0', esbuild: '^0.28.2' },
  };
  writeFileSync(join(ws, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  // Longer than the editor is tall: finding text off screen needs the Find widget.
  const notes = Array.from({ length: 199 }, (_, i) => `line ${i + 1}`).concat(SMOKE_NOTES_NEEDLE);
  writeFileSync(join(ws, 'notes.txt'), notes.join('\n') + '\n');
  return ws;
}
