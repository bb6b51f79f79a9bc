/**
 * The human report of `install-guard audit`: who runs code at install time, what it
 * runs, and who pulls it in; then the findings. Every string from a lockfile or the
 * registry goes through forTerminal.
 */
import { runsInstallCode } from '../analysis/installScripts';
import { relative } from 'node:path';
import type { AuditReport, PackageReport } from '../analysis/audit';
import { describeScripts } from '../analysis/audit';
import type { Finding } from '../analysis/findings';
import type { SuppressedFinding } from '../policy/applyPolicySettings';
import { RangeResolver } from './jsonReport';
import { forTerminal } from './untrustedText';

export interface TextReportOptions {
  /** audit: the packages table and the findings; check: the findings, each with its fix. */
  mode: 'audit' | 'check';
  /** Findings silenced by an exception in force: listed with their reason, never hidden. */
  suppressed?: SuppressedFinding[];
  provenanceSummary?: string | null;
  registry: string | null;
  offline: boolean;
  /** Terminal width to fit the table into; 0 for no limit (pipes). */
  width: number;
  fileText: (file: string) => string | null;
}

export function toTextReport(report: AuditReport, options: TextReportOptions): string {
  const { inventory } = report;
  const out: string[] = [];
  const pm = inventory.packageManager;
  const lock = inventory.lockfile;
  out.push(`Install Guard ${options.mode} of ${inventory.root}`);
  out.push(
    `  package manager: ${pm.name}${pm.version ? ` ${pm.version}` : ''} (${pm.reason})` +
      `\n  lockfile: ${lock ? `${relative(inventory.root, lock.file)} (${lock.format})` : 'none'}` +
      `\n  registry: ${options.registry ?? 'not consulted'}${options.offline ? ' (offline: cache only)' : ''}`,
  );

  const running = report.packages.filter((p) => runsInstallCode(p.facts));
  const unknown = report.packages.filter((p) => !p.facts.known);
  out.push('');
  out.push(`${report.packages.length} locked packages, ${running.length} run code at install time, ${unknown.length} unknown`);
  if (options.provenanceSummary) out.push(forTerminal(options.provenanceSummary));

  if (running.length > 0 && options.mode === 'audit') {
    out.push('');
    out.push(...table(['PACKAGE', 'VERDICT', 'EVIDENCE', 'PROVENANCE', 'PULLED IN BY', 'RUNS'], running.map(row), options.width));
  }
  if (unknown.length > 0 && options.mode === 'audit') {
    out.push('');
    out.push(`Not decided (${unknown.length}):`);
    for (const p of unknown.slice(0, 20)) out.push(`  ${forTerminal(`${p.name}@${p.version}`)}: ${forTerminal(p.facts.note ?? '')}`);
    if (unknown.length > 20) out.push(`  … and ${unknown.length - 20} more (see --format json)`);
  }
  const findings = report.findings;
  out.push('');
  out.push(findings.length === 0 ? 'No findings.' : `Findings (${findings.length}):`);
  const ranges = new RangeResolver(options.fileText);
  for (const finding of findings) out.push(...findingLines(finding, inventory.root, ranges));
  if (options.suppressed?.length) {
    out.push('', `Silenced by exceptions in install-guard.jsonc (${options.suppressed.length}):`);
    for (const { finding, exception } of options.suppressed) {
      out.push(`  ${finding.code}  ${forTerminal(`${finding.package?.name ?? ''}@${finding.package?.version ?? ''}`)} until ${exception.expires}: ${forTerminal(exception.reason)}`);
    }
  }
  return out.join('\n') + '\n';
}

function row(p: PackageReport): string[] {
  const flags = [p.direct ? 'direct' : '', p.dev ? 'dev' : '', p.optional ? 'optional' : '', p.facts.gyp ? 'node-gyp' : '']
    .filter(Boolean)
    .join(', ');
  const paths = p.paths; // made by the graph on each read
  const via = paths[0] ? paths[0].slice(0, -1).map(importerLabel).join(' > ') : '(nothing in the project)';
  const more = paths.length > 1 ? ` (+${paths.length - 1} more)` : '';
  return [
    forTerminal(`${p.name}@${p.version}`) + (flags ? ` (${flags})` : ''),
    p.policy.verdict === 'none' ? '-' : p.policy.effect ? `${p.policy.verdict} (${p.policy.effect})` : p.policy.verdict,
    p.facts.evidence,
    provenanceCell(p),
    forTerminal(via) + more,
    forTerminal(describeScripts(p.facts)),
  ];
}

/** "sig ✓ prov ✓ owner/repo", "sig ? prov –": what the registry and Sigstore vouch for. */
function provenanceCell(p: PackageReport): string {
  const provenance = p.provenance;
  if (!provenance) return '-';
  const mark = (state: string) => (state === 'verified' ? '✓' : state === 'invalid' ? '✗' : state === 'absent' ? '–' : '?');
  const repository = provenance.attestation === 'verified' && provenance.repository ? ` ${forTerminal(provenance.repository.replace(/^https:\/\/github\.com\//, ''))}` : '';
  return `sig ${mark(provenance.signature)} prov ${mark(provenance.attestation)}${repository}`;
}

/** The first step of a path is an importer dir: "." is the root package.json. */
function importerLabel(step: string, index: number): string {
  return index === 0 && step === '.' ? 'package.json' : index === 0 ? `${step}/package.json` : step;
}

/** Columns padded to their widest cell (at most 60); a line is cut to a terminal's width. */
function table(header: string[], rows: string[][], width: number): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.min(60, Math.max(...all.map((r) => r[i]!.length))));
  return all.map((r) => {
    const line = r.map((cell, i) => (i === r.length - 1 ? cell : fit(cell, widths[i]!).padEnd(widths[i]!))).join('  ');
    return width > 0 && line.length > width ? line.slice(0, width - 1) + '…' : line;
  });
}

function fit(cell: string, width: number): string {
  return cell.length > width ? cell.slice(0, width - 1) + '…' : cell;
}

function findingLines(finding: Finding, root: string, ranges: RangeResolver): string[] {
  const range = finding.location.span && ranges.range(finding.location.file, finding.location.span);
  const where = range ? `:${range.start.line + 1}` : '';
  const lines = [`  ${finding.severity.padEnd(7)} ${finding.code}  ${relative(root, finding.location.file)}${where}`];
  lines.push(`          ${forTerminal(finding.message)}`);
  if (finding.fix) lines.push(`          fix: ${forTerminal(finding.fix)}`);
  return lines;
}
