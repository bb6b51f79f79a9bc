/**
 * SARIF 2.1.0, for code-scanning UIs (GitHub, Azure DevOps, VS Code's SARIF viewer).
 * One rule per finding code; results carry 1-based line/column regions in the file the
 * finding points at, relative to the project root (%SRCROOT%).
 */
import { relative, sep } from 'node:path';
import type { AuditReport } from '../analysis/audit';
import { DOCS_URL, FINDING_CODES, findingDocsUrl, type FindingCode, type Severity } from '../analysis/findings';
import { RangeResolver, type JsonRange, type ReportContext } from './jsonReport';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

export function toSarifReport(report: AuditReport, context: ReportContext) {
  const root = report.inventory.root;
  const uri = (file: string) => relative(root, file).split(sep).join('/');
  const ranges = new RangeResolver(context.fileText);
  const codes = Object.keys(FINDING_CODES) as FindingCode[];
  const region = (range: JsonRange | null) =>
    range
      ? {
          startLine: range.start.line + 1,
          startColumn: range.start.character + 1,
          endLine: range.end.line + 1,
          endColumn: range.end.character + 1,
        }
      : undefined;
  const location = (file: string, range: JsonRange | null, message?: string) => ({
    physicalLocation: {
      artifactLocation: { uri: uri(file), uriBaseId: '%SRCROOT%' },
      ...(range ? { region: region(range) } : {}),
    },
    ...(message ? { message: { text: message } } : {}),
  });

  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'install-guard',
            version: context.toolVersion,
            informationUri: DOCS_URL,
            rules: codes.map((code) => ({
              id: code,
              name: code,
              shortDescription: { text: FINDING_CODES[code].title },
              helpUri: findingDocsUrl(code),
              defaultConfiguration: { level: LEVEL[FINDING_CODES[code].defaultSeverity] },
            })),
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileUri(root) } },
        results: report.findings.map((finding) => ({
          ruleId: finding.code,
          ruleIndex: codes.indexOf(finding.code),
          level: LEVEL[finding.severity],
          message: { text: finding.fix ? `${finding.message}. Fix: ${finding.fix}` : finding.message },
          locations: [location(finding.location.file, finding.location.span && ranges.range(finding.location.file, finding.location.span))],
          relatedLocations: finding.related.map((r, id) => ({
            id,
            ...location(r.file, r.span && ranges.range(r.file, r.span), r.message),
          })),
          ...(finding.package
            ? {
                partialFingerprints: { packageVersion: `${finding.code}:${finding.package.name}@${finding.package.version}` },
                properties: { package: finding.package },
              }
            : {}),
        })),
      },
    ],
  };
}

function pathToFileUri(path: string): string {
  const normalized = path.split(sep).join('/');
  return `file://${normalized.startsWith('/') ? '' : '/'}${encodeURI(normalized)}/`;
}
