/**
 * Untrusted text (package names, script bodies, registry messages) as the client shows it
 * outside webviews: in QuickPick rows and the status bar. Both render `$(name)` as an icon
 * and neither is a terminal, yet both show whatever characters they get, so the same
 * characters are made visible as in the CLI's output (server/src/report/untrustedText.ts):
 * controls, line separators and the bidi overrides that can make a script body read as
 * something it is not. No vscode import, so the unit tests run it.
 */
import { forTerminal } from '../../server/src/report/untrustedText';

/**
 * `$(name)` and `$(name~spin)` render as icons in QuickPick labels, descriptions and details
 * and in the status bar; VS Code's escape `\$(` keeps them literal. Only what would become an
 * icon is escaped: elsewhere the backslash would show.
 */
const ICON_SYNTAX = /\$\((?=[A-Za-z0-9-]+(?:~[A-Za-z]+)?\))/g;

export function escapeIcons(text: string): string {
  return text.replace(ICON_SYNTAX, '\\$(');
}

/** Registry text for a QuickPick row: one line, no icons, every control visible as an escape. */
export function literalLabel(text: string): string {
  return escapeIcons(forTerminal(text));
}

/**
 * Server text for the one-line status bar item and its tooltip lines: line breaks and tabs
 * (the server's own messages wrap), with the indentation after them, become one space;
 * other controls, visible escapes. Icons are left to the caller, which adds its own.
 */
export function oneLine(text: string): string {
  return forTerminal(text.replace(/ *[\t\n\r\u2028\u2029][\t\n\r\u2028\u2029 ]*/g, ' ')).trim();
}
