/**
 * The language server: wires LSP handlers to the workspace analyzer and nothing else.
 * The connection and every I/O it needs are passed in (`startServer(connection,
 * runtime)`), so tests drive the real server over in-memory streams and
 * server/src/node/main.ts is the only place that creates a connection.
 */
import { join } from 'node:path';
import {
  CodeActionKind,
  ErrorCodes,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type Connection,
  type ExecuteCommandParams,
  type InitializeResult,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { URI } from 'vscode-uri';
import type { ProjectAnalysis } from './engine';
import type { ReadText } from './parse/project';
import { toJsonReport } from './report/jsonReport';
import { toMarkdownReport } from './report/markdownReport';
import { toSarifReport } from './report/sarifReport';
import { codeActions, executeServerCommand } from './lsp/codeActions';
import { LineIndexCache, toDiagnostics } from './lsp/diagnostics';
import { hoverMarkdown, packagesAt, toHover } from './lsp/hover';
import { inlayHints } from './lsp/inlayHints';
import {
  AUDIT_REPORT_REQUEST,
  CLEAR_CACHE_REQUEST,
  DEFAULT_SETTINGS,
  SERVER_COMMANDS,
  STATUS_NOTIFICATION,
  type AuditReportParams,
  type AuditReportResult,
  type InitializationOptions,
  type InstallGuardSettings,
} from './lsp/protocol';
import { StatusTracker } from './lsp/status';
import { WorkspaceAnalyzer, type AnalysisPhase } from './lsp/workspaceAnalyzer';

export interface ServerRuntime {
  /** Reads a file from disk; null when it does not exist. */
  readFile: ReadText;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  env: NodeJS.ProcessEnv;
  now(): Date;
  version: string;
}

export function startServer(connection: Connection, runtime: ServerRuntime): void {
  const documents = new TextDocuments(TextDocument);
  const toPath = (uri: string) => URI.parse(uri).fsPath;
  const toUri = (path: string) => URI.file(path).toString();
  const readText: ReadText = async (path) => documents.get(toUri(path))?.getText() ?? runtime.readFile(path);
  const lines = new LineIndexCache((file) => documents.get(toUri(file))?.getText() ?? lastTexts.get(file) ?? null);
  /** File texts the latest analyses read, for ranges in files that are not open. */
  const lastTexts = new Map<string, string>();
  const published = new Map<string, Set<string>>();
  let supportsConfiguration = false;
  let supportsFolderChanges = false;
  /** The client shows a disabled code action with its reason ("no safe version, because…"). */
  let supportsDisabledActions = false;
  let folders: string[] = [];

  const log = (message: string) => connection.console.log(message);
  /** A notification to a client that has gone away is not an error worth more than a log line. */
  const sent = (delivery: Promise<void>) => void delivery.catch(() => undefined);
  const status = new StatusTracker((params) => sent(connection.sendNotification(STATUS_NOTIFICATION, params)));
  const analyzer = new WorkspaceAnalyzer(
    {
      readText: async (path) => {
        const text = await readText(path);
        if (text !== null) lastTexts.set(path, text);
        return text;
      },
      setTimeout: runtime.setTimeout,
      clearTimeout: runtime.clearTimeout,
      env: runtime.env,
      log,
    },
    { settings: DEFAULT_SETTINGS, trusted: true, cacheDir: null },
    {
      onStarted: (root) => status.analysing(root),
      onFailed: (root, error) => status.failed(root, error.message),
      onAnalysis: (root, analysis, phase) => publish(root, analysis, phase),
    },
  );

  function publish(root: string, analysis: ProjectAnalysis, phase: AnalysisPhase): void {
    const { byFile, registryProblem } = toDiagnostics(analysis, phase, analyzer.settings, lines);
    const previous = published.get(root) ?? new Set<string>();
    const now = new Set<string>();
    for (const [file, diagnostics] of byFile) {
      const uri = toUri(file);
      now.add(uri);
      sent(connection.sendDiagnostics({ uri, diagnostics }));
    }
    for (const uri of previous) if (!now.has(uri)) sent(connection.sendDiagnostics({ uri, diagnostics: [] }));
    published.set(root, now);
    status.update(root, analysis, phase, registryProblem, !analyzer.trusted);
  }

  /** Every handler: a throw or a cancellation returns the default and is logged, never kills the server. */
  async function guarded<T>(name: string, fallback: T, token: CancellationToken | undefined, work: () => Promise<T> | T): Promise<T> {
    try {
      const result = await work();
      return token?.isCancellationRequested ? fallback : result;
    } catch (error) {
      log(`${name} failed: ${(error as Error).stack ?? error}`);
      return fallback;
    }
  }

  connection.onInitialize((params): InitializeResult => {
    const options = (params.initializationOptions ?? {}) as Partial<InitializationOptions>;
    supportsConfiguration = !!params.capabilities.workspace?.configuration;
    supportsFolderChanges = !!params.capabilities.workspace?.workspaceFolders;
    supportsDisabledActions = !!params.capabilities.textDocument?.codeAction?.disabledSupport;
    folders = params.workspaceFolders?.map((f) => toPath(f.uri)) ?? (params.rootUri ? [toPath(params.rootUri)] : []);
    analyzer.setWorkspaceFolders(folders);
    analyzer.reconfigure({ trusted: options.workspaceTrusted ?? true, cacheDir: options.cacheDir ?? null });
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        hoverProvider: true,
        inlayHintProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.Source] },
        executeCommandProvider: { commands: Object.values(SERVER_COMMANDS) },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'install-guard', version: runtime.version },
    };
  });

  connection.onInitialized(async () => {
    await refreshSettings();
    // Analyse every folder's project up front: the status bar and Problems panel fill
    // without the user opening a file.
    for (const folder of folders) {
      const root = await analyzer.rootFor(join(folder, 'package.json'));
      if (root) analyzer.schedule(root);
    }
    if (supportsFolderChanges) {
      connection.workspace.onDidChangeWorkspaceFolders((event) => {
        const removed = new Set(event.removed.map((r) => toPath(r.uri)));
        folders = [...folders.filter((f) => !removed.has(f)), ...event.added.map((a) => toPath(a.uri))];
        analyzer.setWorkspaceFolders(folders);
      });
    }
  });

  async function refreshSettings(): Promise<void> {
    if (!supportsConfiguration) return;
    try {
      const value = (await connection.workspace.getConfiguration('installGuard')) as Partial<InstallGuardSettings> | null;
      analyzer.reconfigure({ settings: { ...DEFAULT_SETTINGS, ...(value ?? {}) } });
    } catch (error) {
      log(`could not read settings: ${(error as Error).message}`);
    }
  }

  connection.onDidChangeConfiguration(() => void refreshSettings());

  const changed = (uri: string) => {
    if (!analyzer.settings.enable) return;
    void analyzer.fileChanged(toPath(uri)).catch((error: Error) => log(`change of ${uri}: ${error.message}`));
  };
  documents.onDidOpen((event) => changed(event.document.uri));
  documents.onDidChangeContent((event) => changed(event.document.uri));
  documents.onDidClose((event) => changed(event.document.uri));
  connection.onDidChangeWatchedFiles((event) => {
    for (const change of event.changes) {
      lastTexts.delete(toPath(change.uri));
      changed(change.uri);
    }
  });

  connection.onHover((params, token) =>
    guarded('hover', null, token, async () => {
      const file = toPath(params.textDocument.uri);
      const found = await analyzer.analysisFor(file);
      const document = documents.get(params.textDocument.uri);
      if (!found || !document) return null;
      const hit = packagesAt(found.analysis, file, document.offsetAt(params.position));
      if (!hit) return null;
      return toHover(hoverMarkdown(hit.reports, runtime.now()), { start: document.positionAt(hit.span.start), end: document.positionAt(hit.span.end) });
    }),
  );

  connection.languages.inlayHint.on((params, token) =>
    guarded('inlay hints', [], token, async () => {
      if (!analyzer.settings.inlayHints) return [];
      const file = toPath(params.textDocument.uri);
      const found = await analyzer.analysisFor(file);
      return found ? inlayHints(found.analysis, file, params.range, lines) : [];
    }),
  );

  connection.onCodeAction((params, token) =>
    guarded('code actions', [], token, async () => {
      const file = toPath(params.textDocument.uri);
      const found = await analyzer.analysisFor(file);
      if (!found) return [];
      const metadata = await analyzer.metadataFor(found.root);
      return codeActions({
        analysis: found.analysis, root: found.root, file, params, readText, toUri, settings: analyzer.settings, now: runtime.now(),
        metadata, disabledSupport: supportsDisabledActions,
      });
    }),
  );

  // Unlike the other handlers, a failed command answers with its error: the user clicked
  // something and the client shows why it did not happen.
  connection.onExecuteCommand(async (params) => {
    try {
      return await runCommand(params);
    } catch (error) {
      log(`command ${params.command} failed: ${(error as Error).stack ?? error}`);
      return new ResponseError(ErrorCodes.InternalError, (error as Error).message);
    }
  });

  async function runCommand(params: ExecuteCommandParams): Promise<null> {
    const args = (params.arguments?.[0] ?? {}) as { root?: string; uri?: string };
    const root = args.root ?? (args.uri ? await analyzer.rootFor(toPath(args.uri)) : null);
    if (!root) throw new Error(`${params.command}: no project for ${JSON.stringify(args)}`);
    const analysis = analyzer.latest(root) ?? (await analyzer.analyzeNow(root));
    if (!analysis) throw new Error(`${params.command}: ${root} could not be analysed`);
    const edit = await executeServerCommand(params.command, params.arguments?.[0], { analysis, root, readText, toUri, settings: analyzer.settings, now: runtime.now() });
    if (edit) {
      const applied = await connection.workspace.applyEdit({ label: 'Install Guard', edit });
      if (!applied.applied) throw new Error(`the editor did not apply the edit: ${applied.failureReason ?? 'no reason given'}`);
    }
    return null;
  }

  connection.onRequest(AUDIT_REPORT_REQUEST, (params: AuditReportParams, token) =>
    guarded<AuditReportResult | null>('audit report', null, token, async () => {
      const root = params.uri ? await analyzer.rootFor(toPath(params.uri)) : analyzer.roots()[0] ?? (await firstRoot());
      if (!root) return null;
      const analysis = await analyzer.analyzeNow(root);
      if (!analysis) return null;
      const context = { toolVersion: runtime.version, registry: null, offline: analyzer.settings.offline, fileText: (f: string) => lastTexts.get(f) ?? null };
      const text =
        params.format === 'sarif'
          ? JSON.stringify(toSarifReport(analysis.report, context), null, 2)
          : params.format === 'markdown'
            ? toMarkdownReport(analysis.report)
            : JSON.stringify(toJsonReport(analysis.report, context), null, 2);
      return { text, root };
    }),
  );

  async function firstRoot(): Promise<string | null> {
    for (const folder of folders) {
      const root = await analyzer.rootFor(join(folder, 'package.json'));
      if (root) return root;
    }
    return null;
  }

  connection.onRequest(CLEAR_CACHE_REQUEST, (_params: unknown, token) =>
    guarded('clear cache', null, token, async () => {
      await analyzer.clearCache();
      return null;
    }),
  );

  connection.onShutdown(() => analyzer.dispose());

  documents.listen(connection);
  connection.listen();
}
