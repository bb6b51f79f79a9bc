/**
 * The Markdown report (the editor's "Export to Markdown", for a pull request or an
 * issue): the packages that run code at install time with their verdicts, then the
 * findings. Registry text is escaped so it renders literally wherever it is pasted.
 */
import { runsInstallCode } from '../analysis/installScripts';
import { relative } from 'node:path';
import { describeScripts, type AuditReport } from '../analysis/audit';
import { forMarkdown, markdownCode } from './untrustedText';

export function toMarkdownReport(report: AuditReport): string {
  const { inventory } = report;
  const running = report.packages.filter((p) => runsInstallCode(p.facts));
  const out: string[] = [];
  out.push(`# Install Guard audit`, '');
  out.push(`- project: ${markdownCode(inventory.root)}`);
  out.push(`- package manager: ${forMarkdown(`${inventory.packageManager.name}${inventory.packageManager.version ? ` ${inventory.packageManager.version}` : ''}`)}`);
  out.push(`- lockfile: ${inventory.lockfile ? markdownCode(relative(inventory.root, inventory.lockfile.file)) : 'none'}`);
  out.push(`- ${report.packages.length} locked packages, ${running.length} run code at install time`, '');
  if (running.length) {
    out.push('## Install scripts', '', '| package | runs | evidence | verdict | pulled in by |', '|---|---|---|---|---|');
    for (const p of running) {
      out.push(
        `| ${forMarkdown(`${p.name}@${p.version}`)} | ${forMarkdown(describeScripts(p.facts))} | ${p.facts.evidence} | ${p.policy.verdict}${p.policy.decidedBy ? ` (${forMarkdown(p.policy.decidedBy)})` : ''} | ${forMarkdown((p.paths[0] ?? []).join(' > '))} |`,
      );
    }
    out.push('');
  }
  out.push(`## Findings (${report.findings.length})`, '');
  for (const f of report.findings) {
    out.push(`- **${f.severity}** \`${f.code}\` ${markdownCode(relative(inventory.root, f.location.file))}: ${forMarkdown(f.message)}${f.fix ? ` — fix: ${forMarkdown(f.fix)}` : ''}`);
  }
  return out.join('\n') + '\n';
}
