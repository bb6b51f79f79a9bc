/**
 * The audit report as the client reads it: the server's AUDIT_REPORT_REQUEST answer in the
 * CLI's JSON format (server/src/report/jsonReport.ts), and the server commands that act
 * on one package. Only the fields the client needs are typed, each optional where older
 * servers leave it out; everything in it is untrusted registry or lockfile text.
 */
import * as vscode from 'vscode';
import { ExecuteCommandRequest, type LanguageClient } from 'vscode-languageclient/node';
import {
  AUDIT_REPORT_REQUEST,
  type AuditReportParams,
  type AuditReportResult,
} from '../../server/src/lsp/protocol';

export type ReportFormat = AuditReportParams['format'];

export interface ReportPackage {
  name: string;
  version: string;
  source?: string;
  direct?: boolean;
  dev?: boolean;
  optional?: boolean;
  installScripts?: Record<string, string> | null;
  gyp?: boolean;
  evidence?: string;
  known?: boolean;
  note?: string | null;
  paths?: string[][];
  /** Policy fields: flat, or under `policy` (both are read). */
  verdict?: string;
  decidedBy?: string | null;
  effect?: string | null;
  explanation?: string;
  policy?: { verdict?: string; decidedBy?: string | null; effect?: string | null; explanation?: string };
  provenance?: Record<string, unknown> | null;
}

export interface ReportFinding {
  code: string;
  severity: string;
  message: string;
  package: { name: string; version: string } | null;
  /** Relative to the report's root. */
  file: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } } | null;
}

export interface JsonReport {
  root: string;
  packages: ReportPackage[];
  findings: ReportFinding[];
}

export async function requestAuditReport(
  client: LanguageClient,
  target: vscode.Uri | undefined,
  format: ReportFormat,
  token?: vscode.CancellationToken,
): Promise<AuditReportResult> {
  const params: AuditReportParams = { format, ...(target ? { uri: target.toString() } : {}) };
  const result = await client.sendRequest<AuditReportResult | null>(AUDIT_REPORT_REQUEST, params, token);
  // The server answers null when no project (package.json) is found or its analysis failed.
  if (!result || typeof result.text !== 'string') {
    throw new Error(`no project with a package.json found${target ? ` for ${target.fsPath}` : ' in this workspace'} (see "Install Guard: Show Output")`);
  }
  return result;
}

/** Parses and shape-checks the JSON report; throws with a readable reason. */
export function parseJsonReport(text: string): JsonReport {
  const value: unknown = JSON.parse(text);
  if (!isObject(value) || typeof value.root !== 'string' || !Array.isArray(value.packages)) {
    throw new Error('the server answered with something that is not an Install Guard JSON report');
  }
  const packages = value.packages.filter(
    (p): p is ReportPackage => isObject(p) && typeof p.name === 'string' && typeof p.version === 'string',
  );
  const findings = (Array.isArray(value.findings) ? value.findings : []).filter(
    (f): f is ReportFinding => isObject(f) && typeof f.code === 'string' && typeof f.file === 'string',
  );
  return { ...(value as object), root: value.root, packages, findings } as JsonReport;
}

export function verdictOf(p: ReportPackage): string | null {
  return p.verdict ?? p.policy?.verdict ?? null;
}

/**
 * Packages whose install script nobody has reviewed: the policy verdict where the report
 * has one, else the `unreviewed-install-script` findings.
 */
export function unreviewedPackages(report: JsonReport): ReportPackage[] {
  if (report.packages.some((p) => verdictOf(p) !== null)) {
    return report.packages.filter((p) => verdictOf(p) === 'unreviewed');
  }
  const flagged = new Set(
    report.findings
      .filter((f) => f.code === 'unreviewed-install-script' && f.package)
      .map((f) => `${f.package!.name}@${f.package!.version}`),
  );
  return report.packages.filter((p) => flagged.has(`${p.name}@${p.version}`));
}

export function describeRuns(p: ReportPackage): string {
  const scripts = p.installScripts;
  if (!scripts || Object.keys(scripts).length === 0) return p.evidence === 'lockfile' ? '(commands unknown)' : 'nothing';
  return Object.entries(scripts)
    .map(([hook, command]) => `${hook}: ${command}`)
    .join('; ');
}

/**
 * Runs a command the server implements (it answers after its workspace/applyEdit). Sent
 * as a request rather than through vscode.commands so it works whether or not the server
 * advertises the id in executeCommandProvider.
 */
export async function executeServerCommand(client: LanguageClient, command: string, args: unknown): Promise<unknown> {
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] });
}

/**
 * The project to act on: the active editor's file when it is in the workspace (the
 * server finds its project), else the only workspace folder, else the user's pick.
 */
export async function pickProjectTarget(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && active.scheme === 'file' && vscode.workspace.getWorkspaceFolder(active)) return active;
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return folders[0]?.uri;
  const folder = await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Which folder\'s project?' });
  return folder?.uri;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
