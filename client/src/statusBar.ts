/**
 * The status bar item: the workspace summary the server sends (STATUS_NOTIFICATION),
 * one click from the audit report. Registry outages and withheld credentials are said
 * here once, so they never have to be repeated as diagnostics on every line.
 */
import * as vscode from 'vscode';
import { State } from 'vscode-languageclient/node';
import { COMMANDS, SERVER_NAME, type StatusParams } from '../../server/src/lsp/protocol';
import { escapeIcons, oneLine } from './displayText';

const CLICK_HINT = 'Click to open the audit report.';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private last: StatusParams | null = null;

  constructor() {
    this.item = vscode.window.createStatusBarItem('installGuard.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = SERVER_NAME;
    this.item.command = COMMANDS.auditWorkspace;
    this.item.text = '$(loading~spin) Install Guard';
    this.item.tooltip = `${SERVER_NAME}: starting`;
    this.item.show();
  }

  update(params: StatusParams): void {
    this.last = params;
    const view = describeStatus(params);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.background ? new vscode.ThemeColor(view.background) : undefined;
    this.item.accessibilityInformation = { label: view.tooltip.split('\n').slice(0, 3).join('. ') };
    this.item.show();
  }

  /** The server process itself stopped or restarted (a crash, a trust change). */
  clientStateChanged(state: State): void {
    if (state === State.Starting) {
      this.item.text = '$(loading~spin) Install Guard';
      this.item.tooltip = `${SERVER_NAME}: starting`;
      this.item.backgroundColor = undefined;
    } else if (state === State.Stopped) {
      this.item.text = '$(shield) Install Guard: stopped';
      this.item.tooltip = `${SERVER_NAME}: the language server is not running. See "Install Guard: Show Output".`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      this.item.command = COMMANDS.showOutput;
      return;
    } else if (this.last) {
      this.update(this.last);
    }
    this.item.command = COMMANDS.auditWorkspace;
  }

  showStartFailure(reason: string): void {
    this.item.text = '$(error) Install Guard';
    this.item.tooltip = `${SERVER_NAME} could not start: ${reason}`;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    this.item.command = COMMANDS.showOutput;
  }

  dispose(): void {
    this.item.dispose();
  }
}

export interface StatusView {
  text: string;
  /** Plain text (never Markdown: it carries registry-supplied words such as package names). */
  tooltip: string;
  background: 'statusBarItem.warningBackground' | 'statusBarItem.errorBackground' | null;
}

/** Pure, so the wording can be reasoned about apart from VS Code. */
export function describeStatus(params: StatusParams): StatusView {
  const serverText = oneLine(params.text);
  const summary = serverText ? escapeIcons(serverText) : countsText(params);
  const badges: string[] = [];
  if (params.registryProblem) badges.push('$(cloud-offline)');
  if (params.restrictedByTrust) badges.push('$(workspace-untrusted)');

  let icon = '$(shield)';
  let background: StatusView['background'] = null;
  switch (params.state) {
    case 'analysing':
      icon = '$(loading~spin)';
      break;
    case 'error':
      icon = '$(error)';
      background = 'statusBarItem.errorBackground';
      break;
    case 'disabled':
      icon = '$(circle-slash)';
      break;
    case 'ready':
      if (params.unreviewed > 0 || params.provenanceProblems > 0) background = 'statusBarItem.warningBackground';
      break;
  }

  const tooltip: string[] = [SERVER_NAME];
  if (params.state === 'ready' || params.state === 'analysing') {
    tooltip.push(`${params.unreviewed} unreviewed install script${params.unreviewed === 1 ? '' : 's'}`);
    tooltip.push(`${params.provenanceProblems} provenance problem${params.provenanceProblems === 1 ? '' : 's'}`);
  }
  for (const line of params.details) tooltip.push(oneLine(line));
  if (params.registryProblem) tooltip.push(`Registry: ${oneLine(params.registryProblem)}`);
  if (params.restrictedByTrust) {
    tooltip.push(
      'Restricted Mode: credentials for registries named by this workspace\'s .npmrc were not sent. ' +
        'Trust the workspace to use them.',
    );
  }
  tooltip.push('', CLICK_HINT);

  return {
    text: [`${icon} ${summary}`, ...badges].join(' '),
    tooltip: tooltip.join('\n'),
    background,
  };
}

function countsText(params: StatusParams): string {
  if (params.state === 'disabled') return 'Install Guard off';
  if (params.state === 'analysing') return 'Install Guard';
  const parts: string[] = [];
  if (params.unreviewed > 0) parts.push(`${params.unreviewed} unreviewed`);
  if (params.provenanceProblems > 0) parts.push(`${params.provenanceProblems} provenance`);
  return parts.length > 0 ? parts.join(', ') : 'Install Guard';
}
