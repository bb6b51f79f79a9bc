/**
 * The palette commands (category "Install Guard") and the client side of the fixes that
 * need the user to say something first. Work on packages is done by the server through
 * workspace/executeCommand, so the edit lands in the same files, in the same format, as
 * the quick fixes in the editor.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { CLEAR_CACHE_REQUEST, COMMANDS, SERVER_COMMANDS, type ApproveAllParams } from '../../server/src/lsp/protocol';
import {
  describeRuns,
  executeServerCommand,
  parseJsonReport,
  pickProjectTarget,
  requestAuditReport,
  unreviewedPackages,
  type ReportPackage,
} from './auditReport';
import { AuditReportPanel } from './auditReportView';
import { literalLabel } from './displayText';
import { addException, errorText } from './exceptionPrompt';
import { runPreinstallCheck } from './preinstallTask';

export function registerCommands(context: vscode.ExtensionContext, client: LanguageClient, output: vscode.OutputChannel): void {
  const register = (id: string, run: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, run));

  register(COMMANDS.auditWorkspace, async (resource?: unknown) => {
    const target = resource instanceof vscode.Uri ? resource : await pickProjectTarget();
    AuditReportPanel.show(context, client, target);
  });
  register(COMMANDS.runPreinstallCheck, () => runPreinstallCheck(context));
  register(COMMANDS.approveReviewed, () => approveReviewed(client));
  register(COMMANDS.clearCache, () => clearCache(client));
  register(COMMANDS.showOutput, () => output.show(true));
  register(COMMANDS.addException, async (args?: unknown) => {
    const added = await addException(client, args);
    if (added) AuditReportPanel.changedByFix();
    return added;
  });
}

/**
 * Lists the packages whose install scripts are unreviewed, all ticked; the user unticks
 * what they have not actually looked at, and the server allows exactly the rest in the
 * allowlist the package manager enforces.
 */
async function approveReviewed(client: LanguageClient): Promise<void> {
  const target = await pickProjectTarget();
  let report;
  try {
    report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Install Guard: reading the audit' },
      async (_progress, token) => parseJsonReport((await requestAuditReport(client, target, 'json', token)).text),
    );
  } catch (error) {
    void vscode.window.showErrorMessage(`Install Guard: could not read the audit: ${errorText(error)}`);
    return;
  }
  const unreviewed = unreviewedPackages(report);
  if (unreviewed.length === 0) {
    void vscode.window.showInformationMessage(`Install Guard: no unreviewed install scripts in ${report.root}.`);
    return;
  }

  const items = unreviewed.map((p) => toPickItem(p));
  const picked = await vscode.window.showQuickPick(items, {
    title: `Approve reviewed install scripts (${unreviewed.length})`,
    placeHolder: 'Untick every package whose install script you have not read. The ticked ones are allowed, pinned to this version.',
    canPickMany: true,
    matchOnDetail: true,
    ignoreFocusOut: true,
  });
  if (!picked || picked.length === 0) return;

  const params: ApproveAllParams = {
    uri: vscode.Uri.file(report.root).toString(),
    packages: picked.map((item) => ({ name: item.pkg.name, version: item.pkg.version })),
  };
  try {
    await executeServerCommand(client, SERVER_COMMANDS.approveAll, params);
    AuditReportPanel.changedByFix();
    void vscode.window.showInformationMessage(
      `Install Guard: allowed ${picked.length} package${picked.length === 1 ? '' : 's'}. Review and save the edited files.`,
    );
  } catch (error) {
    void vscode.window.showErrorMessage(`Install Guard: approving failed: ${errorText(error)}`);
  }
}

interface PackagePickItem extends vscode.QuickPickItem {
  pkg: ReportPackage;
}

function toPickItem(p: ReportPackage): PackagePickItem {
  const via = p.paths?.[0]?.slice(1, -1).join(' › ');
  const flags = [p.direct ? 'direct' : '', p.dev ? 'dev' : '', via ? `via ${via}` : ''].filter(Boolean).join(' · ');
  return {
    label: literalLabel(`${p.name}@${p.version}`),
    description: literalLabel(flags),
    detail: literalLabel(describeRuns(p)),
    picked: true,
    pkg: p,
  };
}

async function clearCache(client: LanguageClient): Promise<void> {
  try {
    await client.sendRequest(CLEAR_CACHE_REQUEST);
    void vscode.window.showInformationMessage('Install Guard: metadata cache cleared; the workspace is being analysed again.');
  } catch (error) {
    void vscode.window.showErrorMessage(`Install Guard: could not clear the cache: ${errorText(error)}`);
  }
}
