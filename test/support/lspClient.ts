/**
 * A real LSP client (vscode-languageserver-protocol's connection) talking to the real
 * server, in-process over two streams. The client side behaves like an editor: it
 * answers workspace/configuration, applies workspace/applyEdit to the files (and tells
 * the server, as an editor would), and records published diagnostics and status.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  ApplyWorkspaceEditRequest,
  ConfigurationRequest,
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type Diagnostic,
  type ProtocolConnection,
  type TextDocumentEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver-protocol/node';
import { createConnection } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { URI } from 'vscode-uri';
import { startServer } from '../../server/src/server';
import { DEFAULT_SETTINGS, STATUS_NOTIFICATION, type InstallGuardSettings, type StatusParams } from '../../server/src/lsp/protocol';
import { isolatedNpmEnv, tempDir } from './runCli';

export interface TestClient {
  connection: ProtocolConnection;
  diagnostics: Map<string, Diagnostic[]>;
  statuses: StatusParams[];
  open(path: string, languageId?: string): Promise<void>;
  change(path: string, text: string): Promise<void>;
  /** Resolves when diagnostics for the file satisfy the predicate (or rejects after a timeout). */
  waitForDiagnostics(path: string, predicate: (d: Diagnostic[]) => boolean, timeoutMs?: number): Promise<Diagnostic[]>;
  waitForStatus(predicate: (s: StatusParams) => boolean, timeoutMs?: number): Promise<StatusParams>;
  uri(path: string): string;
  /** The LSP lifecycle's end: shutdown (the server stops its work), then dispose. */
  close(): Promise<void>;
}

export interface TestClientOptions {
  folder: string;
  settings?: Partial<InstallGuardSettings>;
  env?: NodeJS.ProcessEnv;
  trusted?: boolean;
  /** Talk to a server process over its stdio (node + these arguments) instead of in-process. */
  serverProcess?: string[];
}

export async function startTestClient(options: TestClientOptions): Promise<TestClient> {
  const server = options.serverProcess ? spawnServer(options.serverProcess, options.env) : startInProcess(options.env);
  const connection = createProtocolConnection(new StreamMessageReader(server.output), new StreamMessageWriter(server.input));
  const diagnostics = new Map<string, Diagnostic[]>();
  const statuses: StatusParams[] = [];
  const documents = new Map<string, TextDocument>();
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };

  connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
    diagnostics.set(params.uri, params.diagnostics);
    wake();
  });
  connection.onNotification(STATUS_NOTIFICATION, (params: StatusParams) => {
    statuses.push(params);
    wake();
  });
  // IG_LSP_LOG=1 shows the server's log (handler failures are logged, not thrown).
  connection.onNotification('window/logMessage', (params: { message: string }) => {
    if (process.env.IG_LSP_LOG) process.stderr.write(`[server] ${params.message}\n`);
  });
  connection.onRequest(ConfigurationRequest.type, (params) => params.items.map(() => settings));
  connection.onRequest(ApplyWorkspaceEditRequest.type, async (params) => {
    await applyWorkspaceEdit(params.edit);
    return { applied: true };
  });
  connection.listen();

  const uri = (path: string) => URI.file(path).toString();
  let version = 1;

  /** Applies an edit as an editor does: to open documents (then didChange) or to disk. */
  async function applyWorkspaceEdit(edit: WorkspaceEdit): Promise<void> {
    for (const change of edit.documentChanges ?? []) {
      if ('kind' in change) {
        if (change.kind === 'create') {
          const path = URI.parse(change.uri).fsPath;
          mkdirSync(dirname(path), { recursive: true });
          if (!existsSync(path)) writeFileSync(path, '');
        }
        continue;
      }
      const documentEdit = change as TextDocumentEdit;
      const path = URI.parse(documentEdit.textDocument.uri).fsPath;
      const open = documents.get(documentEdit.textDocument.uri);
      const before = open?.getText() ?? readFileSync(path, 'utf8');
      const after = TextDocument.applyEdits(TextDocument.create(documentEdit.textDocument.uri, 'json', 0, before), documentEdit.edits as never);
      writeFileSync(path, after);
      if (open) await client.change(path, after);
    }
  }

  const client: TestClient = {
    connection,
    diagnostics,
    statuses,
    uri,
    async open(path, languageId = 'json') {
      const text = readFileSync(path, 'utf8');
      documents.set(uri(path), TextDocument.create(uri(path), languageId, version, text));
      await connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: uri(path), languageId, version: version++, text } });
    },
    async change(path, text) {
      const doc = documents.get(uri(path));
      if (doc) documents.set(uri(path), TextDocument.create(uri(path), doc.languageId, version, text));
      await connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: uri(path), version: version++ }, contentChanges: [{ text }] });
    },
    waitForDiagnostics(path, predicate, timeoutMs = 20_000) {
      return waitFor(() => {
        const list = diagnostics.get(uri(path));
        return list && predicate(list) ? list : undefined;
      }, timeoutMs, `diagnostics for ${path}`);
    },
    waitForStatus(predicate, timeoutMs = 20_000) {
      return waitFor(() => [...statuses].reverse().find(predicate), timeoutMs, 'status');
    },
    async close() {
      await connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
      // `exit` ends a server process; in-process it would end the test runner.
      if (options.serverProcess) await connection.sendNotification(ExitNotification.type).catch(() => undefined);
      connection.dispose();
      await server.stop();
    },
  };

  function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify([...diagnostics].map(([u, d]) => [u, d.map((x) => x.code)]))}`)), timeoutMs);
      const attempt = () => {
        const value = check();
        if (value !== undefined) {
          clearTimeout(timer);
          resolve(value);
        } else waiters.push(attempt);
      };
      attempt();
    });
  }

  await connection.sendRequest(InitializeRequest.type, {
    // null: with a pid, vscode-languageserver polls that process every few seconds and the
    // interval would keep the test process alive after the connection is disposed.
    processId: null,
    rootUri: uri(options.folder),
    workspaceFolders: [{ uri: uri(options.folder), name: 'test' }],
    capabilities: { workspace: { configuration: true, applyEdit: true, workspaceEdit: { documentChanges: true } } },
    initializationOptions: { workspaceTrusted: options.trusted ?? true, cacheDir: tempDir('ig-lsp-cache-') },
  });
  await connection.sendNotification(InitializedNotification.type, {});
  return client;
}

interface ServerEnd {
  input: NodeJS.WritableStream;
  output: NodeJS.ReadableStream;
  stop(): Promise<void>;
}

function startInProcess(env: NodeJS.ProcessEnv | undefined): ServerEnd {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const serverConnection = createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  startServer(serverConnection, {
    readFile: async (path) => (existsSync(path) ? readFileSync(path, 'utf8') : null),
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    env: env ?? isolatedNpmEnv(),
    now: () => new Date(),
    version: 'test',
  });
  return { input: toServer, output: toClient, stop: async () => serverConnection.dispose() };
}

/** A server process on stdio, as Neovim or Helix start `install-guard lsp --stdio`. */
function spawnServer(args: string[], env: NodeJS.ProcessEnv | undefined): ServerEnd {
  const child = spawn(process.execPath, args, { env: env ?? isolatedNpmEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    input: child.stdin,
    output: child.stdout,
    async stop() {
      // The `exit` notification ends the process; kill it if it lingers.
      child.stdin.end();
      const timer = setTimeout(() => child.kill(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
