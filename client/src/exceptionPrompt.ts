/**
 * The "add exception" fix: an exception in install-guard.jsonc must say why and until
 * when (expired exceptions become findings again), so the client asks for both before
 * the server writes anything. A code action cannot ask; it runs COMMANDS.addException,
 * which lands here.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { SERVER_COMMANDS, type AddExceptionArgs } from '../../server/src/lsp/protocol';
import { executeServerCommand } from './auditReport';

export const DEFAULT_EXCEPTION_DAYS = 30;

/** Asks for reason and expiry, then has the server write the exception. */
export async function addException(client: LanguageClient, raw: unknown): Promise<boolean> {
  const args = readArgs(raw);
  if (!args) {
    void vscode.window.showErrorMessage('Install Guard: "Add exception" needs a package; use it from a quick fix or the audit report.');
    return false;
  }
  const filled = await askForException(args);
  if (!filled) return false;
  try {
    await executeServerCommand(client, SERVER_COMMANDS.addException, filled);
    return true;
  } catch (error) {
    void vscode.window.showErrorMessage(`Install Guard: the exception was not added: ${errorText(error)}`);
    return false;
  }
}

export async function askForException(args: AddExceptionArgs): Promise<AddExceptionArgs | undefined> {
  const subject = args.version ? `${args.package}@${args.version}` : args.package;
  const reason = await vscode.window.showInputBox({
    title: `Exception for ${subject} (${args.code})`,
    prompt: 'Why may this package break the policy? Recorded in install-guard.jsonc for reviewers.',
    placeHolder: 'e.g. reviewed postinstall: downloads the platform binary from the project\'s GitHub releases',
    value: args.reason ?? '',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() === '' ? 'A reason is required.' : null),
  });
  if (reason === undefined) return undefined;

  const today = new Date();
  const expires = await vscode.window.showInputBox({
    title: `Exception for ${subject}: expiry`,
    prompt: 'Until when (YYYY-MM-DD)? After that day the package is reported again for review.',
    value: args.expires ?? isoDate(addDays(today, DEFAULT_EXCEPTION_DAYS)),
    ignoreFocusOut: true,
    validateInput: (value) => validateExpiry(value, today),
  });
  if (expires === undefined) return undefined;
  return { ...args, reason: reason.trim(), expires: expires.trim() };
}

/** null when `value` is a real calendar date, today or later; else what is wrong. */
export function validateExpiry(value: string, today: Date): string | null {
  const text = value.trim();
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return 'Use the form YYYY-MM-DD, e.g. 2025-12-31.';
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2025-02-30 over into March: a round trip shows whether the day exists.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return `${text} is not a calendar date.`;
  }
  if (text < isoDate(today)) return 'The expiry date is in the past.';
  return null;
}

/** The local calendar date (what the user means by "today"), as YYYY-MM-DD. */
export function isoDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function addDays(date: Date, days: number): Date {
  const copy = new Date(date.getTime());
  copy.setDate(copy.getDate() + days);
  return copy;
}

/** Arguments come from a code action or the webview: check their shape before use. */
function readArgs(raw: unknown): AddExceptionArgs | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const value = raw as Record<string, unknown>;
  if (typeof value.root !== 'string' || typeof value.package !== 'string' || typeof value.code !== 'string') return null;
  if (value.version !== null && value.version !== undefined && typeof value.version !== 'string') return null;
  return {
    root: value.root,
    package: value.package,
    version: typeof value.version === 'string' ? value.version : null,
    code: value.code,
    ...(typeof value.reason === 'string' ? { reason: value.reason } : {}),
    ...(typeof value.expires === 'string' ? { expires: value.expires } : {}),
  };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
