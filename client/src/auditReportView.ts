/**
 * The audit report view: a webview listing every package that runs code at install time,
 * with its verdict, provenance and the fixes as buttons, and exports to JSON, SARIF and
 * Markdown.
 *
 * Every string in the report is untrusted (package names, script bodies and paths come
 * from lockfiles and the registry). So the HTML here is a static skeleton with no data in
 * it; media/reportView.js builds the rows with textContent; the Content-Security-Policy
 * allows only our own stylesheet and one nonce'd script; command: URIs are off; and every
 * message the webview sends back is checked against the report before anything runs.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import {
  COMMANDS,
  SERVER_COMMANDS,
  type AddExceptionArgs,
  type PackageDecisionArgs,
  type StatusParams,
} from '../../server/src/lsp/protocol';
import { executeServerCommand, parseJsonReport, requestAuditReport, type JsonReport, type ReportFormat } from './auditReport';
import { errorText } from './exceptionPrompt';

const VIEW_TYPE = 'installGuard.auditReport';

type FixAction = 'allow' | 'allow-any' | 'deny' | 'exception' | 'reveal';
const FIX_ACTIONS: readonly FixAction[] = ['allow', 'allow-any', 'deny', 'exception', 'reveal'];
const EXPORTS: Record<ReportFormat, { extension: string; label: string }> = {
  json: { extension: 'json', label: 'JSON' },
  sarif: { extension: 'sarif', label: 'SARIF' },
  markdown: { extension: 'md', label: 'Markdown' },
};

/** Messages from the webview; all fields are checked before use. */
type Incoming =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'export'; format: ReportFormat }
  | { type: 'fix'; action: FixAction; name: string; version: string };

export class AuditReportPanel {
  private static current: AuditReportPanel | undefined;

  private report: JsonReport | null = null;
  private loading: Promise<void> | null = null;
  /**
   * Set after a fix: the server re-analyses the edited file on its own schedule, so the
   * report is fetched again when it next says it is ready (once: a fetch can itself start
   * an analysis, and following every status would loop).
   */
  private refreshWhenReady = false;
  private readonly disposables: vscode.Disposable[] = [];

  static show(context: vscode.ExtensionContext, client: LanguageClient, target: vscode.Uri | undefined): AuditReportPanel {
    const existing = AuditReportPanel.current;
    if (existing) {
      existing.target = target ?? existing.target;
      existing.panel.reveal();
      void existing.refresh();
      return existing;
    }
    const media = vscode.Uri.joinPath(context.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Install Guard: Audit', vscode.ViewColumn.Active, {
      enableScripts: true,
      enableCommandUris: false,
      enableFindWidget: true,
      localResourceRoots: [media],
    });
    panel.iconPath = vscode.Uri.joinPath(media, 'icon.png');
    AuditReportPanel.current = new AuditReportPanel(panel, media, client, target);
    return AuditReportPanel.current;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly media: vscode.Uri,
    private readonly client: LanguageClient,
    private target: vscode.Uri | undefined,
  ) {
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)),
    );
  }

  /** A fix made elsewhere (Approve Reviewed…, a quick fix's exception): follow it. */
  static changedByFix(): void {
    const panel = AuditReportPanel.current;
    if (!panel) return;
    panel.refreshWhenReady = true;
    void panel.refresh();
  }

  /** Called with every STATUS_NOTIFICATION. */
  static statusChanged(params: StatusParams): void {
    const panel = AuditReportPanel.current;
    if (!panel || !panel.refreshWhenReady || params.state !== 'ready') return;
    panel.refreshWhenReady = false;
    void panel.refresh();
  }

  /** Asks the server for the JSON report and hands it to the webview. */
  async refresh(): Promise<void> {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      await this.post({ type: 'loading' });
      try {
        const result = await requestAuditReport(this.client, this.target, 'json');
        this.report = parseJsonReport(result.text);
        await this.post({ type: 'report', report: this.report });
      } catch (error) {
        await this.post({ type: 'error', message: `The audit could not be read: ${errorText(error)}` });
      }
    })().finally(() => (this.loading = null));
    return this.loading;
  }

  private async receive(raw: unknown): Promise<void> {
    const message = readMessage(raw);
    if (!message) return;
    switch (message.type) {
      case 'ready':
        // A webview that was hidden reloads its page: give it what we have, else fetch.
        if (this.report) await this.post({ type: 'report', report: this.report });
        else await this.refresh();
        return;
      case 'refresh':
        return this.refresh();
      case 'export':
        return this.exportReport(message.format);
      case 'fix':
        return this.fix(message.action, message.name, message.version);
    }
  }

  private async fix(action: FixAction, name: string, version: string): Promise<void> {
    const report = this.report;
    // Only packages of the report we showed: the page cannot name anything else.
    const pkg = report?.packages.find((p) => p.name === name && p.version === version);
    if (!report || !pkg) return;
    try {
      if (action === 'reveal') return await this.reveal(report, name, version);
      if (action === 'exception') {
        const finding = report.findings.find((f) => f.package?.name === name && f.package.version === version);
        const args: AddExceptionArgs = { root: report.root, package: name, version, code: finding?.code ?? 'unreviewed-install-script' };
        const added = await vscode.commands.executeCommand<boolean>(COMMANDS.addException, args);
        if (!added) return;
      } else {
        const args: PackageDecisionArgs = { root: report.root, package: name, version, pinned: action !== 'allow-any' };
        await executeServerCommand(this.client, action === 'deny' ? SERVER_COMMANDS.deny : SERVER_COMMANDS.allow, args);
      }
      this.refreshWhenReady = true;
      await this.refresh();
    } catch (error) {
      void vscode.window.showErrorMessage(`Install Guard: ${action} ${name}@${version} failed: ${errorText(error)}`);
    }
  }

  /** Opens the lockfile (or the file of the package's first finding) at its entry. */
  private async reveal(report: JsonReport, name: string, version: string): Promise<void> {
    const finding = report.findings.find((f) => f.package?.name === name && f.package.version === version);
    const relative = finding?.file ?? (report as { lockfile?: { path?: unknown } }).lockfile?.path;
    if (typeof relative !== 'string') return;
    const file = vscode.Uri.joinPath(vscode.Uri.file(report.root), ...relative.split('/'));
    const range = finding?.range;
    const selection = range
      ? new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character)
      : undefined;
    await vscode.window.showTextDocument(file, { selection, viewColumn: vscode.ViewColumn.Beside });
  }

  private async exportReport(format: ReportFormat): Promise<void> {
    const spec = EXPORTS[format];
    try {
      const result = await requestAuditReport(this.client, this.target, format);
      const defaultUri = vscode.Uri.joinPath(vscode.Uri.file(result.root), `install-guard-audit.${spec.extension}`);
      const destination = await vscode.window.showSaveDialog({
        defaultUri,
        title: `Export the Install Guard audit as ${spec.label}`,
        filters: { [spec.label]: [spec.extension] },
      });
      if (!destination) return;
      await vscode.workspace.fs.writeFile(destination, new TextEncoder().encode(result.text));
      const open = await vscode.window.showInformationMessage(`Install Guard: audit saved to ${destination.fsPath}.`, 'Open');
      if (open) await vscode.window.showTextDocument(destination);
    } catch (error) {
      void vscode.window.showErrorMessage(`Install Guard: export as ${spec.label} failed: ${errorText(error)}`);
    }
  }

  private post(message: unknown): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(18).toString('base64');
    const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.media, name)).toString();
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource}`,
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      "form-action 'none'",
      "base-uri 'none'",
    ].join('; ');
    // Static markup only: every value from the report is set by reportView.js as text.
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('reportView.css')}">
<title>Install Guard: Audit</title>
</head>
<body>
<header>
  <h1>Install scripts <span id="root" class="muted"></span></h1>
  <p id="summary" class="summary"></p>
  <div class="toolbar" role="toolbar" aria-label="Report tools">
    <input id="filter" type="search" placeholder="Filter: name, command, verdict, path" aria-label="Filter packages">
    <select id="verdict" aria-label="Verdict">
      <option value="">Every verdict</option>
      <option value="unreviewed">Unreviewed</option>
      <option value="allowed">Allowed</option>
      <option value="denied">Denied</option>
      <option value="undecided">Undecided</option>
    </select>
    <select id="scope" aria-label="Dependency kind">
      <option value="">Prod and dev</option>
      <option value="prod">Prod only</option>
      <option value="dev">Dev only</option>
    </select>
    <span class="spacer"></span>
    <button id="refresh" class="secondary" type="button">Refresh</button>
    <button data-export="json" class="secondary" type="button">Export JSON</button>
    <button data-export="sarif" class="secondary" type="button">Export SARIF</button>
    <button data-export="markdown" class="secondary" type="button">Export Markdown</button>
  </div>
</header>
<main>
  <p id="status" role="status" aria-live="polite">Loading the audit…</p>
  <table id="packages" hidden>
    <thead><tr></tr></thead>
    <tbody></tbody>
  </table>
</main>
<script nonce="${nonce}" src="${asset('reportView.js')}"></script>
</body>
</html>`;
  }

  private dispose(): void {
    if (AuditReportPanel.current === this) AuditReportPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function readMessage(raw: unknown): Incoming | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'refresh':
      return { type: m.type };
    case 'export':
      return typeof m.format === 'string' && Object.hasOwn(EXPORTS, m.format) ? { type: 'export', format: m.format as ReportFormat } : null;
    case 'fix':
      return typeof m.action === 'string' &&
        (FIX_ACTIONS as readonly string[]).includes(m.action) &&
        typeof m.name === 'string' &&
        typeof m.version === 'string'
        ? { type: 'fix', action: m.action as FixAction, name: m.name, version: m.version }
        : null;
    default:
      return null;
  }
}
