/**
 * Findings from the governing allowlist's verdicts: an unreviewed install script, a
 * denied package that is still locked, and entries that no longer match anything. Each
 * names the package, the version, the evidence, the rule that decided, what the
 * installing tool will do, and the fix.
 */
import { declarations, describeScripts, packageLocation, toPolicyPackage, type PackageReport } from '../analysis/audit';
import { FINDING_CODES, type Finding } from '../analysis/findings';
import type { ProjectInventory } from '../model/inventory';
import { unusedRules } from './allowlists/nativeAllowlists';
import type { AllowlistRule, NativePolicy } from './types';

export function policyFindings(inventory: ProjectInventory, policy: NativePolicy, packages: PackageReport[]): Finding[] {
  const findings: Finding[] = [];
  const tool = policy.settings.tool;
  for (const report of packages) {
    const { verdict, decidedBy, explanation, effect } = report.policy;
    if (verdict !== 'unreviewed' && verdict !== 'denied') continue;
    const name = `${report.name}@${report.version}`;
    const runs = `${describeScripts(report.facts)} (evidence: ${report.facts.evidence})`;
    const data = {
      name: report.name,
      version: report.version,
      source: report.source,
      resolved: report.resolved,
      paths: report.paths.map((path) => path.slice(1)),
      verdict,
      effect,
    };
    const base = {
      package: { name: report.name, version: report.version },
      location: packageLocation(inventory, report),
      related: declarations(inventory, report.name),
      data,
    };
    if (verdict === 'unreviewed') {
      findings.push({
        code: 'unreviewed-install-script',
        severity: FINDING_CODES['unreviewed-install-script'].defaultSeverity,
        message: `${name} runs ${runs}; no ${tool} allowlist entry covers it: ${explanation}`,
        fix: `Review what it runs, then allow it (pinned to ${report.version}) or deny it in ${allowlistName(policy)}`,
        ...base,
      });
    } else {
      findings.push({
        code: 'denied-package',
        severity: FINDING_CODES['denied-package'].defaultSeverity,
        message: `${name} is denied by ${decidedBy ?? 'the allowlist'}: ${explanation}. It would run ${runs}`,
        fix: 'Check that the package works without its install script, or remove the dependency',
        ...base,
      });
    }
  }

  for (const { rule, reason } of unusedRules(policy, packages.map(toPolicyPackage))) {
    const where = { file: rule.file, span: rule.span };
    if (reason === 'pinned-version-not-locked') {
      findings.push({
        code: 'pinned-version-not-locked',
        severity: FINDING_CODES['pinned-version-not-locked'].defaultSeverity,
        message: `"${rule.key}" approves ${rule.name}@${(rule.versions ?? []).join(' || ')}, but the lockfile now has ${lockedVersions(packages, rule)}: the locked version is unreviewed`,
        fix: 'Review the new version and update the pinned approval, or remove the entry',
        package: rule.name ? { name: rule.name, version: (rule.versions ?? [])[0] ?? '*' } : null,
        location: where,
        related: [],
        data: { rule: ruleData(rule), reason },
      });
    } else {
      findings.push({
        code: 'stale-allowlist-entry',
        severity: FINDING_CODES['stale-allowlist-entry'].defaultSeverity,
        message: `"${rule.key}" in ${rule.field} names ${rule.name ?? 'a source'} that is not locked any more`,
        fix: 'Remove the entry (it would silently approve the package if it came back)',
        package: rule.name ? { name: rule.name, version: (rule.versions ?? [])[0] ?? '*' } : null,
        location: where,
        related: [],
        data: { rule: ruleData(rule), reason },
      });
    }
  }
  return findings;
}

function lockedVersions(packages: PackageReport[], rule: AllowlistRule): string {
  const versions = packages.filter((p) => p.name === rule.name).map((p) => p.version);
  return versions.length ? versions.join(', ') : 'no version of it';
}

function ruleData(rule: AllowlistRule) {
  return { field: rule.field, key: rule.key, file: rule.file, tool: rule.tool };
}

function allowlistName(policy: NativePolicy): string {
  switch (policy.settings.tool) {
    case 'npm':
      return 'package.json "allowScripts"';
    case 'pnpm':
      return 'pnpm-workspace.yaml (allowBuilds / onlyBuiltDependencies)';
    case 'yarn':
      return 'package.json "dependenciesMeta"';
    case 'bun':
      return 'package.json "trustedDependencies"';
    case 'lavamoat':
      return 'package.json "lavamoat.allowScripts"';
  }
}
