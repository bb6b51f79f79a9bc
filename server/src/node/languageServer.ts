/**
 * The language server process: the only place that creates a connection (stdio, node IPC
 * or a socket, as the client's command line says) and real timers and file access.
 * Started by node/main.ts (the VS Code extension's server) and `install-guard lsp`.
 */
import { readFile } from 'node:fs/promises';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from '../server';

declare const INSTALL_GUARD_VERSION: string | undefined;

export function runLanguageServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  startServer(connection, {
    readFile: async (path) => {
      try {
        return await readFile(path, 'utf8');
      } catch {
        return null;
      }
    },
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    env: process.env,
    now: () => new Date(),
    version: typeof INSTALL_GUARD_VERSION === 'string' ? INSTALL_GUARD_VERSION : '0.0.0-dev',
  });
}
