/**
 * A compact badge at the end of each dependency line of package.json and each entry of
 * the lockfile: what runs at install time and the allowlist's verdict, e.g.
 * "⚙ postinstall · ⚠ unreviewed". Inlay hints rather than code lenses: they sit on the
 * line they describe instead of adding a line above each of thousands of lockfile
 * entries, VS Code lets users toggle them (editor.inlayHints.enabled) besides our
 * installGuard.inlayHints setting, and a request only covers the visible range.
 */
import { InlayHintKind, type InlayHint, type Range } from 'vscode-languageserver';
import { directVersions, type PackageReport } from '../analysis/audit';
import type { ProjectAnalysis } from '../engine';
import type { Span } from '../model/inventory';
import type { LineIndexCache } from './diagnostics';

export function inlayHints(analysis: ProjectAnalysis, file: string, visible: Range, lines: LineIndexCache): InlayHint[] {
  const { report } = analysis;
  const targets: { span: Span; reports: PackageReport[] }[] = [];
  if (report.inventory.lockfile?.file === file) {
    for (const pkg of report.packages) for (const entry of pkg.entries) targets.push({ span: entry.span, reports: [pkg] });
  } else {
    const manifest = report.inventory.manifests.find((m) => m.file === file);
    for (const dependency of manifest?.dependencies ?? []) {
      const direct = directVersions(report.packages, manifest!.dir, dependency.name);
      if (direct.length) targets.push({ span: dependency.specSpan, reports: direct });
    }
  }
  const hints: InlayHint[] = [];
  for (const target of targets) {
    const label = badge(target.reports);
    if (!label) continue;
    const range = lines.range(file, target.span);
    if (!range || range.end.line < visible.start.line || range.start.line > visible.end.line) continue;
    // After the entry's text: the key of a lockfile entry, the version of a dependency.
    hints.push({ position: { line: range.end.line, character: range.end.character + 1 }, label, kind: InlayHintKind.Parameter, paddingLeft: true });
  }
  return hints;
}

/** "⚙ postinstall · ⚠ unreviewed"; null for a package that runs nothing and has no problem. */
export function badge(reports: PackageReport[]): string | null {
  const parts: string[] = [];
  const hooks = new Set<string>();
  for (const r of reports) for (const hook of Object.keys(r.facts.scripts ?? {})) hooks.add(hook);
  if (hooks.size) parts.push(`⚙ ${[...hooks].join(', ')}`);
  else if (reports.some((r) => r.facts.evidence === 'lockfile')) parts.push('⚙ install scripts');
  const verdicts = new Set(reports.map((r) => r.policy.verdict).filter((v) => v !== 'none'));
  if (verdicts.has('unreviewed')) parts.push('⚠ unreviewed');
  else if (verdicts.has('denied')) parts.push('⛔ denied');
  else if (verdicts.has('allowed')) parts.push('✓ allowed');
  const provenance = reports.map((r) => r.provenance?.attestation);
  if (parts.length && provenance.includes('verified')) parts.push('✓ provenance');
  if (provenance.includes('invalid')) parts.push('✗ provenance invalid');
  if (reports.some((r) => !r.facts.known)) parts.push('? unknown');
  return parts.length ? parts.join(' · ') : null;
}
