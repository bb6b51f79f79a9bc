/**
 * The JSON report: the stable machine interface of `install-guard audit --format json`
 * (and of the editor's export). Field names and meanings only ever grow; `schemaVersion`
 * changes when one has to change. Paths in it are relative to the project root.
 */
import { runsInstallCode } from '../analysis/installScripts';
import { relative, sep } from 'node:path';
import type { AuditReport } from '../analysis/audit';
import type { Finding } from '../analysis/findings';
import type { SuppressedFinding } from '../policy/applyPolicySettings';
import { LineIndex, type LineCharacter } from '../parse/textPosition';
import type { Span } from '../model/inventory';
import { StreamedArray } from './jsonStream';

export const JSON_SCHEMA_VERSION = 1;

export interface ReportContext {
  toolVersion: string;
  /** The registry the audit asked (redacted of credentials). */
  registry: string | null;
  offline: boolean;
  /** Texts of the files findings point into, to turn offsets into lines. */
  fileText: (file: string) => string | null;
  /** The tool whose allowlist decided the verdicts (npm, pnpm, yarn, bun, lavamoat). */
  policyTool?: string | null;
  /** Findings silenced by exceptions in force. */
  suppressed?: SuppressedFinding[];
  /** The provenance summary line, when provenance was assessed. */
  provenanceSummary?: string | null;
}

export interface JsonRange {
  start: LineCharacter;
  end: LineCharacter;
}

export function toJsonReport(report: AuditReport, context: ReportContext) {
  const { inventory } = report;
  const rel = (file: string) => relative(inventory.root, file).split(sep).join('/') || '.';
  const ranges = new RangeResolver(context.fileText);
  const withScripts = report.packages.filter((p) => runsInstallCode(p.facts));
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    tool: { name: 'install-guard', version: context.toolVersion },
    root: inventory.root,
    packageManager: inventory.packageManager,
    lockfile: inventory.lockfile ? { path: rel(inventory.lockfile.file), format: inventory.lockfile.format } : null,
    workspaces: inventory.manifests.map((m) => ({ dir: m.dir, name: m.name, path: rel(m.file) })),
    registry: context.registry,
    offline: context.offline,
    provenanceSummary: context.provenanceSummary ?? null,
    summary: {
      packages: report.packages.length,
      withInstallScripts: withScripts.length,
      unknown: report.packages.filter((p) => !p.facts.known).length,
      findings: countBy(report.findings, (f) => f.severity),
    },
    packages: new StreamedArray(report.packages, (p) => ({
      name: p.name,
      version: p.version,
      source: p.source,
      resolved: p.resolved,
      integrity: p.integrity,
      direct: p.direct,
      dev: p.dev,
      optional: p.optional,
      installScripts: p.facts.scripts,
      gyp: p.facts.gyp,
      evidence: p.facts.evidence,
      known: p.facts.known,
      note: p.facts.note,
      lockfileFlag: p.lockfileFlag,
      paths: p.paths,
      error: p.error,
      policy: {
        verdict: p.policy.verdict,
        decidedBy: p.policy.decidedBy,
        packageManager: context.policyTool ?? null,
        effect: p.policy.effect,
        explanation: p.policy.explanation,
      },
      provenance: p.provenance
        ? {
            signature: p.provenance.signature,
            attestation: p.provenance.attestation,
            repository: p.provenance.repository,
            commit: p.provenance.commit,
            ref: p.provenance.ref,
            workflow: p.provenance.workflow,
            builder: p.provenance.builder,
            publishedAt: p.provenance.publishedAt,
            trustedPublisher: p.provenance.trustedPublisher,
            trust: p.provenance.trust,
            downgrade: p.provenance.downgrade,
            ageMinutes: p.provenance.ageMinutes,
            reason: p.provenance.reason,
            trustedRoot: p.provenance.trustedRoot,
          }
        : null,
    })),
    findings: report.findings.map((f) => toJsonFinding(f, rel, ranges)),
    suppressed: (context.suppressed ?? []).map(({ finding, exception }) => ({
      ...toJsonFinding(finding, rel, ranges),
      exception: { reason: exception.reason, expires: exception.expires, version: exception.version },
    })),
    problems: inventory.problems.map((p) => ({
      file: rel(p.file),
      message: p.message,
      range: p.span ? ranges.range(p.file, p.span) : null,
    })),
  };
}

export type JsonReport = ReturnType<typeof toJsonReport>;

function toJsonFinding(finding: Finding, rel: (file: string) => string, ranges: RangeResolver) {
  return {
    code: finding.code,
    severity: finding.severity,
    message: finding.message,
    fix: finding.fix,
    package: finding.package,
    file: rel(finding.location.file),
    range: finding.location.span ? ranges.range(finding.location.file, finding.location.span) : null,
    related: finding.related.map((r) => ({
      file: rel(r.file),
      range: r.span ? ranges.range(r.file, r.span) : null,
      message: r.message,
    })),
  };
}

/** Offsets -> lines, one LineIndex per file, built on first use. */
export class RangeResolver {
  private readonly indexes = new Map<string, LineIndex | null>();

  constructor(private readonly fileText: (file: string) => string | null) {}

  range(file: string, span: Span): JsonRange | null {
    let index = this.indexes.get(file);
    if (index === undefined) {
      const text = this.fileText(file);
      index = text === null ? null : new LineIndex(text);
      this.indexes.set(file, index);
    }
    return index ? { start: index.positionAt(span.start), end: index.positionAt(span.end) } : null;
  }
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
