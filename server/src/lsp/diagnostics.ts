/**
 * Findings -> LSP diagnostics, per file. A package's finding shows on its lockfile entry
 * and on the package.json line that declares it — or, for a transitive package, on the
 * direct dependency that pulls it in, so the user editing package.json sees why. A
 * registry outage becomes one status line, not a diagnostic on every package.
 */
import {
  DiagnosticSeverity,
  type Diagnostic,
  type DiagnosticRelatedInformation,
  type Range,
} from 'vscode-languageserver';
import { URI } from 'vscode-uri';
import type { PackageReport } from '../analysis/audit';
import { findingDocsUrl, type Finding, type Severity } from '../analysis/findings';
import type { ProjectAnalysis } from '../engine';
import type { Span } from '../model/inventory';
import { LineIndex } from '../parse/textPosition';
import { stepName } from '../policy/allowlists/ruleMatching';
import type { AnalysisPhase } from './workspaceAnalyzer';
import type { InstallGuardSettings } from './protocol';

/** What a code action needs back from a diagnostic (LSP `data`). */
export interface DiagnosticData {
  code: string;
  package: { name: string; version: string } | null;
  finding: Record<string, unknown> | null;
}

/** Failure kinds that mean "the registry is unwell", not "this package is odd". */
const OUTAGE_KINDS = new Set(['network', 'timeout', 'server', 'auth', 'garbage']);
const OUTAGE_THRESHOLD = 3;

export interface DiagnosticsResult {
  byFile: Map<string, Diagnostic[]>;
  /** Set when the registry failed for many packages: said once, in the status. */
  registryProblem: string | null;
}

export class LineIndexCache {
  private readonly cache = new Map<string, { text: string; index: LineIndex }>();

  constructor(private readonly textOf: (file: string) => string | null) {}

  range(file: string, span: Span | null) {
    return rangeIn(this.indexFor(file), span);
  }

  /** The file's line index, rebuilt when its text changed; null when there is no text. */
  indexFor(file: string): LineIndex | null {
    const text = this.textOf(file);
    if (text === null) return null;
    let entry = this.cache.get(file);
    if (!entry || entry.text !== text) {
      entry = { text, index: new LineIndex(text) };
      this.cache.set(file, entry);
    }
    return entry.index;
  }

  /**
   * Ranges for one synchronous pass (a publish): each file's text is looked up once.
   * textOf is not free — the server maps the path to a URI to find the open document —
   * and a publish asks for thousands of ranges in a handful of files.
   */
  snapshot(): RangeSource {
    const indexes = new Map<string, LineIndex | null>();
    return {
      range: (file, span) => {
        let index = indexes.get(file);
        if (index === undefined) indexes.set(file, (index = this.indexFor(file)));
        return rangeIn(index, span);
      },
    };
  }
}

export interface RangeSource {
  range(file: string, span: Span | null): Range | null;
}

function rangeIn(index: LineIndex | null, span: Span | null): Range | null {
  if (!index) return null;
  const s = span ?? { start: 0, end: 0 };
  return { start: index.positionAt(s.start), end: index.positionAt(s.end) };
}

export function toDiagnostics(
  analysis: ProjectAnalysis,
  phase: AnalysisPhase,
  settings: InstallGuardSettings,
  lineCache: LineIndexCache,
): DiagnosticsResult {
  const { report } = analysis;
  const lines = lineCache.snapshot();
  const uris = new Map<string, string>();
  const uriOf = (file: string) => {
    let uri = uris.get(file);
    if (uri === undefined) uris.set(file, (uri = URI.file(file).toString()));
    return uri;
  };
  const outage = detectOutage(report.packages);
  const byFile = new Map<string, Diagnostic[]>();
  const add = (file: string, diagnostic: Diagnostic) => {
    const list = byFile.get(file);
    if (list) list.push(diagnostic);
    else byFile.set(file, [diagnostic]);
  };

  for (const finding of report.findings) {
    if (finding.code === 'install-script-unknown') {
      const kind = (finding.data as { registryErrorKind?: string } | undefined)?.registryErrorKind;
      if (phase === 'local') continue; // the registry has not answered yet
      if (outage && kind && OUTAGE_KINDS.has(kind)) continue;
    }
    const severity = effectiveSeverity(finding, analysis, settings);
    if (severity === 'off') continue;
    const range = lines.range(finding.location.file, finding.location.span);
    if (!range) continue;
    const related = relatedInformation(finding, lines, uriOf);
    const data: DiagnosticData = { code: finding.code, package: finding.package, finding: finding.data ?? null };
    const base = {
      severity: SEVERITY[severity],
      code: finding.code,
      codeDescription: { href: findingDocsUrl(finding.code) },
      source: 'Install Guard',
      data,
    };
    add(finding.location.file, { ...base, range, message: finding.message + (finding.fix ? `\nFix: ${finding.fix}` : ''), relatedInformation: related });

    // The same finding where the dependency is declared, or where it is pulled in from.
    for (const declaration of declarationsFor(finding, analysis)) {
      const at = lines.range(declaration.file, declaration.span);
      if (!at || declaration.file === finding.location.file) continue;
      add(declaration.file, { ...base, range: at, message: declaration.prefix + finding.message, relatedInformation: related });
    }
  }
  return { byFile, registryProblem: outage };
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

/** install-guard.jsonc states the team's policy and wins over a user's editor setting. */
function effectiveSeverity(finding: Finding, analysis: ProjectAnalysis, settings: InstallGuardSettings): Severity | 'off' {
  if (analysis.settings.severity[finding.code] !== undefined) return finding.severity;
  return settings.severity[finding.code] ?? finding.severity;
}

function relatedInformation(finding: Finding, lines: RangeSource, uriOf: (file: string) => string): DiagnosticRelatedInformation[] {
  const related: DiagnosticRelatedInformation[] = [];
  for (const r of finding.related) {
    const range = lines.range(r.file, r.span);
    if (range) related.push({ location: { uri: uriOf(r.file), range }, message: r.message });
  }
  const paths = (finding.data as { paths?: string[][] } | undefined)?.paths;
  if (finding.location.file && paths?.length) {
    const range = lines.range(finding.location.file, finding.location.span);
    if (range) {
      // A one-step path is the direct dependency itself: saying it pulls itself in adds nothing.
      for (const path of paths.filter((p) => p.length > 1).slice(0, 3)) {
        related.push({ location: { uri: uriOf(finding.location.file), range }, message: `pulled in by ${path.join(' > ')}` });
      }
    }
  }
  return related;
}

/** package.json places for a package finding: its own declarations, else the direct dependency pulling it in. */
function declarationsFor(finding: Finding, analysis: ProjectAnalysis): { file: string; span: Span; prefix: string }[] {
  if (!finding.package) return [];
  const own = finding.related.filter((r) => r.span && r.file.endsWith('package.json'));
  if (own.length > 0) return own.map((r) => ({ file: r.file, span: r.span!, prefix: '' }));
  const report = analysis.report.packages.find((p) => p.name === finding.package!.name && p.version === finding.package!.version);
  const path = report?.paths[0];
  if (!report || !path || path.length < 3) return [];
  const importer = analysis.report.inventory.manifests.find((m) => m.dir === path[0]);
  const directName = stepName(path[1]!);
  const declaration = importer?.dependencies.find((d) => d.name === directName);
  if (!importer || !declaration) return [];
  return [{ file: importer.file, span: declaration.nameSpan, prefix: `${path[1]} pulls in ${path.slice(2).join(' > ')}: ` }];
}


function detectOutage(packages: PackageReport[]): string | null {
  const failed = packages.filter((p) => p.errorKind && OUTAGE_KINDS.has(p.errorKind));
  if (failed.length < OUTAGE_THRESHOLD) return null;
  return `The registry failed for ${failed.length} packages (${failed[0]!.error}); their install scripts are not known`;
}
