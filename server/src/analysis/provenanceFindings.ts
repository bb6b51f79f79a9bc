/**
 * The findings of provenance facts (provenance.ts): invalid or missing signatures and
 * attestations, provenance the policy requires, a repository that differs from the one
 * provenance names, trust downgrades and releases younger than the minimum age; the
 * package selectors the policy's exclusion lists use; and the one-line summary.
 */
import { versionKey } from '../model/inventory';
import { sameRepository } from '../registry/buildClaims';
import { FINDING_CODES, type Finding, type FindingCode } from './findings';
import type { ProvenanceFacts, ProvenanceSubject } from './provenance';
import { describeMinutes, evidenceText } from './trust';

export interface ProvenanceFindingOptions {
  /** Absolute path of the lockfile (findings point at the package's entry in it). */
  lockfile: string;
  /** true: every package; a list: name patterns ("@org/*", "esbuild"); false or absent: none. */
  requireProvenance?: boolean | readonly string[];
  minimumReleaseAgeMinutes?: number | null;
  /** Selectors the release-age rule skips (pnpm's minimumReleaseAgeExclude: "name", "@org/*", "name@1.2.3 || 1.2.4"). */
  minimumReleaseAgeExclude?: readonly string[];
  /** Selectors the trust-downgrade rule skips (pnpm's trustPolicyExclude). */
  trustDowngradeExclude?: readonly string[];
  related?: (name: string) => Finding['related'];
}

export function provenanceFindings(
  reports: readonly ProvenanceSubject[], provenance: ReadonlyMap<string, ProvenanceFacts>, opts: ProvenanceFindingOptions,
): Finding[] {
  const requirement = opts.requireProvenance === true ? ['*'] : opts.requireProvenance || [];
  const required = requirement.map((p) => ({ pattern: p, test: packageSelector(p) }));
  const ageExcluded = anySelector(opts.minimumReleaseAgeExclude);
  const downgradeExcluded = anySelector(opts.trustDowngradeExclude);
  const findings: Finding[] = [];
  for (const report of reports) {
    const p = provenance.get(versionKey(report.name, report.version));
    if (!p) continue;
    const id = `${report.name}@${report.version}`;
    const add = (code: FindingCode, message: string, fix: string | null): void => {
      findings.push({
        code, severity: FINDING_CODES[code].defaultSeverity, message, fix,
        package: { name: report.name, version: report.version },
        location: { file: opts.lockfile, span: report.entries[0]?.span ?? null },
        related: opts.related?.(report.name) ?? [],
      });
    };
    if (p.signature === 'invalid') {
      add('signature-invalid', `${id}: registry signature invalid — ${p.details.signature}`,
        'Do not install this version from this source: fetch its metadata again from the registry and report it if the signature still fails');
    } else if (p.signature === 'missing' || p.signature === 'unknown-key') {
      // As `npm audit signatures` counts them: no signature by any key the registry publishes.
      add('signature-missing', p.signature === 'missing'
        ? `${id} carries no registry signature, though its registry publishes signing keys`
        : `${id} is signed only with keys its registry does not publish — ${p.details.signature}`,
        'Look for a proxy or mirror that rewrites registry metadata; compare with the registry itself');
    }
    if (p.attestation === 'invalid') {
      add('provenance-invalid', `${id}: provenance attestation invalid — ${p.details.attestation}`,
        'Do not install this version; pin the previous version whose provenance verifies and tell the maintainers');
    }
    const rule = required.find((r) => r.test(report.name, report.version));
    if (rule && p.attestation !== 'verified' && p.attestation !== 'invalid') {
      add('provenance-required', `${id} has no verified provenance (${p.attestation}: ${p.details.attestation}), which the policy requires for "${rule.pattern}"`,
        'Pin a version published with provenance, or take the package out of the provenance requirement');
    }
    const declared = report.registryFacts?.repository ?? null;
    if (p.attestation === 'verified' && p.repository && declared && !sameRepository(declared, p.repository)) {
      add('repository-mismatch', `${id} names repository ${declared} in package.json, but its verified provenance says it was built from ${p.repository}`,
        'Check that the build repository belongs to the project (a rename or a move is harmless, a stranger\'s repository is not)');
    }
    if (p.downgrade && !downgradeExcluded(report.name, report.version)) {
      add('trust-downgrade', `${id} was published with ${evidenceText(p.trust)}, but ${p.downgrade.from}, published before it, had ${evidenceText(p.downgrade.evidence)}: possibly published with stolen credentials`,
        `Check with the maintainers how ${report.version} was published, or pin ${report.name}@${p.downgrade.from}`);
    }
    const minimum = opts.minimumReleaseAgeMinutes ?? null;
    if (minimum && p.ageMinutes !== null && p.ageMinutes < minimum && !ageExcluded(report.name, report.version)) {
      add('release-too-young', `${id} was published ${describeMinutes(Math.max(p.ageMinutes, 0))} ago, younger than the minimum release age of ${describeMinutes(minimum)}`,
        'Wait until it is older, or pin the previous version');
    }
  }
  return findings;
}

/**
 * A package selector as pnpm's exclude lists write them: a name pattern ("@org/*", "*-plugin",
 * "esbuild"; `*` matches any run of characters) optionally followed by exact versions
 * ("nx@21.6.4 || 21.6.5").
 */
export function packageSelector(selector: string): (name: string, version: string) => boolean {
  const at = selector.indexOf('@', 1);
  const namePart = at > 0 ? selector.slice(0, at) : selector;
  const versions = at > 0 ? selector.slice(at + 1).split('||').map((v) => v.trim()).filter(Boolean) : null;
  const re = new RegExp(`^${namePart.trim().split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name, version) => re.test(name) && (!versions || versions.includes(version));
}

function anySelector(selectors: readonly string[] | undefined): (name: string, version: string) => boolean {
  const tests = (selectors ?? []).map(packageSelector);
  return (name, version) => tests.some((t) => t(name, version));
}

/** One line in the manner of `npm audit signatures`. */
export function provenanceSummary(provenance: ReadonlyMap<string, ProvenanceFacts>): string {
  const count = (pred: (p: ProvenanceFacts) => boolean): number => [...provenance.values()].filter(pred).length;
  const parts = [
    `${count((p) => p.signature === 'verified')} verified registry signatures`,
    `${count((p) => p.attestation === 'verified')} verified attestations`,
  ];
  const bad = [
    [count((p) => p.signature === 'invalid'), 'invalid signatures'],
    [count((p) => p.signature === 'missing'), 'missing signatures'],
    [count((p) => p.signature === 'unknown-key'), 'signatures by unknown keys'],
    [count((p) => p.attestation === 'invalid'), 'invalid attestations'],
    [count((p) => p.signature === 'unverifiable'), 'unverifiable signatures'],
    [count((p) => p.attestation === 'unverifiable'), 'unverifiable attestations'],
    [count((p) => p.downgrade !== null), 'trust downgrades'],
  ].filter(([n]) => (n as number) > 0).map(([n, what]) => `${n} ${what}`);
  return `audited ${provenance.size} registry packages: ${parts.join(', ')}${bad.length ? `; ${bad.join(', ')}` : ''}`;
}
