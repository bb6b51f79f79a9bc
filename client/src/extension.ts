/**
 * The VS Code side of Install Guard: starts the language server (dist/server/main.js,
 * bundled in the extension) over IPC, and adds what only an editor has — a status bar
 * summary, palette commands, the audit report view and the pre-install check task.
 * All analysis happens in the server; this file only wires things together.
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type DocumentSelector,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  SERVER_NAME,
  STATUS_NOTIFICATION,
  type InitializationOptions,
  type StatusParams,
} from '../../server/src/lsp/protocol';
import { AuditReportPanel } from './auditReportView';
import { registerCommands } from './commands';
import { registerPreinstallTask } from './preinstallTask';
import { StatusBar } from './statusBar';

/** The id is also the settings prefix the client reads `trace.server` under. */
const CLIENT_ID = 'installGuard';

/**
 * Every file whose contents change what the server says. Patterns rather than languages:
 * package.json is `json`, .npmrc has no built-in language, and CI workflows are `yaml`
 * like every other YAML file. yarn.lock gets the `yarnlock` language this extension
 * contributes (syntaxes/), so it is selected by language.
 */
const WATCHED_FILE_NAMES = [
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'pnpm-workspace.yaml',
  'bun.lock',
  '.yarnrc.yml',
  '.npmrc',
  'install-guard.jsonc',
];

const WORKFLOW_PATTERNS = ['**/.github/workflows/*.{yml,yaml}', '**/.gitlab-ci.yml'];

export const DOCUMENT_SELECTOR: DocumentSelector = [
  ...WATCHED_FILE_NAMES.filter((name) => name !== 'yarn.lock').map((name) => ({ scheme: 'file', pattern: `**/${name}` })),
  { scheme: 'file', language: 'yarnlock' },
  // A yarn.lock opened before the grammar is known, or re-associated by the user.
  { scheme: 'file', pattern: '**/yarn.lock' },
  ...WORKFLOW_PATTERNS.map((pattern) => ({ scheme: 'file', pattern })),
];

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel(SERVER_NAME, { log: true });
  const statusBar = new StatusBar();
  context.subscriptions.push(output, statusBar);

  const cacheDir = await prepareCacheDir(context, output);
  const serverModule = context.asAbsolutePath('dist/server/main.js');
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };

  // Files the server needs to hear about even when they are not open in an editor:
  // `npm install` rewrites the lockfile on disk, a teammate's pull changes .npmrc.
  const watcher = vscode.workspace.createFileSystemWatcher(`**/{${WATCHED_FILE_NAMES.join(',')}}`);
  context.subscriptions.push(watcher);

  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: output,
    diagnosticCollectionName: 'install-guard',
    // A function, so a restart after the workspace becomes trusted sends the new answer.
    initializationOptions: (): InitializationOptions => ({
      workspaceTrusted: vscode.workspace.isTrusted,
      cacheDir,
    }),
    synchronize: {
      configurationSection: 'installGuard',
      fileEvents: watcher,
    },
    middleware: {
      workspace: {
        // `npm install` rewrites thousands of node_modules/**/package.json at once; the
        // lockfile write that comes with it is the event the server re-evaluates on.
        didChangeWatchedFile: (event, next) => (event.uri.includes('/node_modules/') ? Promise.resolve() : next(event)),
      },
    },
  };

  client = new LanguageClient(CLIENT_ID, SERVER_NAME, serverOptions, clientOptions);
  const languageClient = client;
  context.subscriptions.push(
    languageClient.onNotification(STATUS_NOTIFICATION, (params: StatusParams) => {
      statusBar.update(params);
      AuditReportPanel.statusChanged(params);
    }),
    languageClient.onDidChangeState((event) => statusBar.clientStateChanged(event.newState)),
  );

  registerCommands(context, languageClient, output);
  registerPreinstallTask(context);

  // Credentials the workspace's own .npmrc would send were withheld while it was not
  // trusted; the server decides that at initialize, so a restart is the honest update
  // (every cached decision that depended on it is recomputed).
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(async () => {
      output.info('Workspace trusted: restarting the Install Guard server with registry credentials allowed.');
      try {
        await languageClient.restart();
      } catch (error) {
        output.error(`Restart failed: ${String(error)}`);
      }
    }),
  );

  try {
    await languageClient.start();
  } catch (error) {
    // The client has already logged why; keep the commands working (they report it too).
    output.error(`The Install Guard server did not start: ${String(error)}`);
    statusBar.showStartFailure(String(error));
  }
}

export async function deactivate(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) await running.stop();
}

/**
 * The server keeps fetched registry metadata under the extension's global storage. Only a
 * local file path can be handed to a Node process; anything else means "memory only".
 */
async function prepareCacheDir(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): Promise<string | null> {
  const storage = context.globalStorageUri;
  if (storage.scheme !== 'file') return null;
  const cache = vscode.Uri.joinPath(storage, 'metadata-cache');
  try {
    await vscode.workspace.fs.createDirectory(cache);
    return cache.fsPath;
  } catch (error) {
    output.warn(`No disk cache (${cache.fsPath}): ${String(error)}`);
    return null;
  }
}
