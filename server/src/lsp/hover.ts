/**
 * Hover on a dependency in package.json or an entry in the lockfile: what exactly runs
 * at install time, on which evidence, the allowlist's verdict and the entry that decided,
 * provenance, publish age and who pulls it in. Everything from the registry or a
 * lockfile is escaped (forMarkdown / markdownCode); links are only plain https URLs we
 * validated, never command: links, and the content is never marked trusted.
 */
import type { Hover, MarkupContent } from 'vscode-languageserver';
import { directVersions, type PackageReport } from '../analysis/audit';
import type { ProjectAnalysis } from '../engine';
import type { Span } from '../model/inventory';
import { forMarkdown, markdownCode } from '../report/untrustedText';

/** The packages under an offset of a file: a lockfile entry, or a package.json dependency. */
export function packagesAt(analysis: ProjectAnalysis, file: string, offset: number): { reports: PackageReport[]; span: Span } | null {
  const { report } = analysis;
  const inside = (span: Span) => offset >= span.start && offset <= span.end;
  if (report.inventory.lockfile?.file === file) {
    for (const pkg of report.packages) {
      const entry = pkg.entries.find((e) => inside(e.span));
      if (entry) return { reports: [pkg], span: entry.span };
    }
    return null;
  }
  const manifest = report.inventory.manifests.find((m) => m.file === file);
  const dependency = manifest?.dependencies.find((d) => inside(d.nameSpan) || inside(d.specSpan));
  if (!manifest || !dependency) return null;
  // The versions this importer gets directly; else every locked version of the name.
  const direct = directVersions(report.packages, manifest.dir, dependency.name);
  const reports = direct.length > 0 ? direct : report.packages.filter((p) => p.name === dependency.name);
  return { reports, span: { start: dependency.nameSpan.start, end: dependency.specSpan.end } };
}

export function hoverMarkdown(reports: PackageReport[], now: Date): string {
  if (reports.length === 0) return 'Install Guard: not in the lockfile (run your package manager to lock it).';
  return reports.map((report) => packageSection(report, now)).join('\n\n---\n\n');
}

export function toHover(markdown: string, range: Hover['range']): Hover {
  const contents: MarkupContent = { kind: 'markdown', value: markdown };
  return range ? { contents, range } : { contents };
}

function packageSection(report: PackageReport, now: Date): string {
  const { facts, policy } = report;
  const lines: string[] = [];
  const title = `**${forMarkdown(`${report.name}@${report.version}`)}**`;
  const flags = [report.direct ? 'direct' : 'transitive', report.dev ? 'dev' : '', report.optional ? 'optional' : '', report.source !== 'registry' ? report.source : '']
    .filter(Boolean)
    .join(', ');
  if (facts.scripts) {
    lines.push(`${title} runs code at install time (${flags})`, '');
    for (const [hook, command] of Object.entries(facts.scripts)) lines.push(`- ${hook}: ${markdownCode(command)}`);
    if (facts.gyp) lines.push('- builds a native addon with node-gyp');
  } else if (facts.evidence === 'lockfile') {
    lines.push(`${title} runs install scripts according to the lockfile (${flags}); the commands are not known yet`);
  } else if (!facts.known) {
    lines.push(`${title} (${flags}): whether it runs install scripts is not known`);
  } else {
    lines.push(`${title} runs nothing at install time (${flags})`);
  }
  lines.push('');
  lines.push(`Evidence: ${EVIDENCE[facts.evidence]}${facts.note ? ` — ${forMarkdown(facts.note)}` : ''}`);
  if (policy.verdict !== 'none') {
    lines.push('', `Allowlist: **${policy.verdict}**${policy.decidedBy ? ` by ${markdownCode(policy.decidedBy)}` : ''} — ${forMarkdown(policy.explanation)}`);
  }
  const provenance = provenanceLines(report);
  if (provenance.length) lines.push('', ...provenance);
  const published = report.registryFacts?.publishedAt;
  if (published) lines.push('', `Published ${forMarkdown(published.slice(0, 10))} (${age(published, now)})`);
  const paths = report.paths; // made by the graph on each read
  if (paths.length) {
    lines.push('', 'Pulled in by:');
    for (const path of paths.slice(0, 5)) lines.push(`- ${forMarkdown(path.join(' › '))}`);
  }
  if (report.error) lines.push('', `Registry: ${forMarkdown(report.error)}`);
  return lines.join('\n');
}

const EVIDENCE: Record<PackageReport['facts']['evidence'], string> = {
  installed: 'the installed copy in node_modules',
  local: 'the local package.json of this file:/link: dependency',
  registry: "the registry's manifest of this version",
  lockfile: "only the lockfile's install-script flag (a hint)",
  none: 'none',
};

/** Provenance facts, when the provenance layer put them on the report. */
function provenanceLines(report: PackageReport): string[] {
  const provenance = report.provenance;
  if (!provenance) return [];
  const lines = [`Signature: ${forMarkdown(provenance.signature ?? 'unknown')} · provenance: ${forMarkdown(provenance.attestation ?? 'unknown')}`];
  const repository = safeLink(provenance.repository ?? null);
  if (repository) lines.push(`- source: ${repository}`);
  if (provenance.commit) lines.push(`- commit: ${markdownCode(provenance.commit)}`);
  if (provenance.workflow) lines.push(`- workflow: ${markdownCode(provenance.workflow)}`);
  if (provenance.reason) lines.push(`- ${forMarkdown(provenance.reason)}`);
  return lines;
}

/** A Markdown link only for a plain https URL; anything else is shown as escaped text. */
export function safeLink(url: string | null): string | null {
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return forMarkdown(url);
  }
  if (parsed.protocol !== 'https:' || parsed.username || parsed.password) return forMarkdown(url);
  const href = parsed.toString().replace(/[()\s<>]/g, (c) => encodeURIComponent(c));
  return `[${forMarkdown(parsed.host + parsed.pathname)}](${href})`;
}

function age(iso: string, now: Date): string {
  const days = Math.floor((now.getTime() - Date.parse(iso)) / 86_400_000);
  if (Number.isNaN(days)) return 'unknown age';
  if (days < 1) return 'less than a day ago';
  return days === 1 ? '1 day ago' : `${days} days ago`;
}
