/**
 * Judging one published version against every rule in force for a project, as a
 * candidate for "pin a safe version": its install scripts under the governing allowlist
 * (the same decide() the audit uses, asked about that version), provenance where the
 * policy requires it, trust downgrade, release age, deprecation.
 *
 * Pure over what the caller gathered: the version's registry facts, the package's publish
 * history, and — for the version that is locked now — what the provenance assessment
 * already verified. Attestations of other versions are not fetched and verified here
 * (that is a network round trip and a Sigstore verification per candidate); their
 * presence is the evidence, and the verdict says so.
 */
import type { ProvenanceFacts } from '../../analysis/provenance';
import { packageSelector } from '../../analysis/provenanceFindings';
import { INSTALL_HOOKS, scriptsFromManifest, type ScriptMap } from '../../analysis/installScripts';
import { describeMinutes, detectDowngrade, releaseAge, trustEvidenceOf, type TrustEvidence } from '../../analysis/trust';
import type { PublishedVersion } from '../../registry/publishHistory';
import type { VersionFacts } from '../../registry/versionFacts';
import { decide } from '../allowlists/decide';
import type { PolicySettings } from '../policyFile';
import type { NativePolicy } from '../types';

export interface CandidateVerdict {
  version: string;
  ok: boolean;
  /** Why it does not qualify, e.g. "runs postinstall: node x.js (unreviewed)"; empty when ok. */
  reasons: string[];
  /** The evidence it passed on, e.g. "attestation present (not verified here)". */
  notes: string[];
}

/** The rules of one project, and what the allowlist needs to know about the package. */
export interface RulesInForce {
  name: string;
  policy: NativePolicy;
  settings: PolicySettings;
  now: Date;
  /** Dependency paths of the locked copy (LavaMoat keys are paths): a pinned version sits where it sits. */
  paths: string[][];
}

export interface CandidateEvidence {
  version: string;
  /** The registry's facts of the version; null with `lookupError` when they could not be had. */
  facts: VersionFacts | null;
  lookupError: string | null;
  /** Every published version with publish time and trust evidence (trust-downgrade checks). */
  history: ReadonlyMap<string, PublishedVersion>;
  /** What the provenance assessment verified, for versions the project locks. */
  assessed: ProvenanceFacts | null;
}

export function judgeCandidate(evidence: CandidateEvidence, rules: RulesInForce): CandidateVerdict {
  const { version, facts } = evidence;
  const verdict: CandidateVerdict = { version, ok: false, reasons: [], notes: [] };
  if (!facts) {
    verdict.reasons.push(`registry metadata unavailable: ${evidence.lookupError ?? 'not found'}`);
    return verdict;
  }
  if (facts.deprecated) verdict.reasons.push(`deprecated: ${facts.deprecated}`);
  judgeScripts(facts, rules, verdict);
  judgeProvenance(evidence, rules, verdict);
  judgeDowngrade(evidence, rules, verdict);
  judgeReleaseAge(facts, rules, verdict);
  verdict.ok = verdict.reasons.length === 0;
  return verdict;
}

/** One line per rule that applies to the package, for titles and explanations. */
export function describeRules(rules: RulesInForce): string[] {
  const { name, settings, policy } = rules;
  const lines = [`no install script, or one the ${policy.settings.tool} allowlist already approves`];
  if (provenanceRequirement(name, null, settings) !== null) lines.push(`provenance (${settings.requireProvenance.source})`);
  if (settings.trustDowngrade.value !== 'off') {
    lines.push(`no trust downgrade against ${settings.trustDowngrade.value === 'same-major' ? 'earlier versions of the same major' : 'any earlier version'} (${settings.trustDowngrade.source})`);
  }
  if (settings.minimumReleaseAge.value > 0) lines.push(`at least ${describeMinutes(settings.minimumReleaseAge.value)} old (${settings.minimumReleaseAge.source})`);
  lines.push('not deprecated');
  return lines;
}

function judgeScripts(facts: VersionFacts, rules: RulesInForce, verdict: CandidateVerdict): void {
  // A registry version is never packed from source, so `prepare` does not run.
  const { scripts } = scriptsFromManifest({ scripts: facts.scripts, gypfile: facts.gypfile }, false);
  const flagged = scripts === null && facts.hasInstallScript === true;
  if (scripts === null && !flagged) {
    verdict.notes.push('runs no install script');
    return;
  }
  const decision = decide(rules.policy, {
    name: rules.name,
    version: facts.version,
    source: 'registry',
    // npm only honours a pinned approval when the resolved URL names the version.
    resolved: facts.tarball ?? tarballUrl(facts.registry, rules.name, facts.version),
    paths: rules.paths,
    runsScripts: true,
  });
  const what = scripts ? `runs ${describeScriptMap(scripts)}` : 'the registry flags an install script (commands not in its manifest)';
  if (decision.verdict === 'allowed') {
    verdict.notes.push(`${what}, approved by ${decision.decidedBy ?? `the ${rules.policy.settings.tool} default`}`);
    return;
  }
  verdict.reasons.push(`${what} (${decision.verdict === 'denied' ? `denied by ${decision.decidedBy}` : 'unreviewed'})`);
}

function judgeProvenance(evidence: CandidateEvidence, rules: RulesInForce, verdict: CandidateVerdict): void {
  const pattern = provenanceRequirement(rules.name, evidence.version, rules.settings);
  if (pattern === null) return;
  const required = `required by ${rules.settings.requireProvenance.source}`;
  // A verdict already reached (the locked version's assessment, or one cached with the facts) beats presence.
  const known = evidence.assessed?.attestation ?? evidence.facts?.verification?.attestation?.state ?? null;
  if (known === 'verified') {
    verdict.notes.push('provenance verified');
    return;
  }
  if (known === 'invalid') {
    verdict.reasons.push(`provenance attestation invalid (${required})`);
    return;
  }
  const published = evidence.history.get(evidence.version);
  const present = !!evidence.facts?.attestations?.provenance || published?.provenance === true;
  if (present) verdict.notes.push('attestation present (not verified here)');
  else verdict.reasons.push(`no provenance (${required})`);
}

function judgeDowngrade(evidence: CandidateEvidence, rules: RulesInForce, verdict: CandidateVerdict): void {
  const { settings, name } = rules;
  const policy = settings.trustDowngrade.value;
  if (policy === 'off' || settings.trustDowngradeExclude.some((s) => packageSelector(s)(name, evidence.version))) return;
  const facts = evidence.facts!;
  const self = evidence.history.get(evidence.version) ?? {
    trustedPublisher: !!facts.npmUser?.trustedPublisher,
    provenance: !!facts.attestations?.provenance,
    publishedAt: facts.publishedAt,
  };
  const check = detectDowngrade(evidence.history, evidence.version, policy, self);
  if (check.downgrade) {
    verdict.reasons.push(`trust downgrade from ${check.downgrade.from} (${evidenceLabel(check.downgrade.evidence)} → ${evidenceLabel(trustEvidenceOf(self))})`);
  } else if (check.note) verdict.notes.push(check.note);
}

function judgeReleaseAge(facts: VersionFacts, rules: RulesInForce, verdict: CandidateVerdict): void {
  const { settings, name } = rules;
  const minimum = settings.minimumReleaseAge.value;
  if (minimum <= 0 || settings.minimumReleaseAgeExclude.some((s) => packageSelector(s)(name, facts.version))) return;
  const age = releaseAge(facts.publishedAt, rules.now, minimum);
  if (age.ageMinutes === null) {
    // Age unknown: a version we cannot show to be old enough is not offered as the safe one.
    verdict.reasons.push(`publish time unknown (minimum release age ${describeMinutes(minimum)})`);
  } else if (age.tooYoung) {
    verdict.reasons.push(`published ${describeMinutes(Math.max(age.ageMinutes, 0))} ago (minimum ${describeMinutes(minimum)})`);
  } else {
    verdict.notes.push(`published ${describeMinutes(age.ageMinutes)} ago`);
  }
}

/** The requireProvenance pattern that covers the package (any version when `version` is null); null when none does. */
function provenanceRequirement(name: string, version: string | null, settings: PolicySettings): string | null {
  const value = settings.requireProvenance.value;
  const patterns = value === true ? ['*'] : value === false ? [] : value;
  const covers = (pattern: string): boolean => {
    if (version !== null) return packageSelector(pattern)(name, version);
    const at = pattern.indexOf('@', 1);
    return packageSelector(at > 0 ? pattern.slice(0, at) : pattern)(name, '');
  };
  return patterns.find(covers) ?? null;
}

function evidenceLabel(evidence: TrustEvidence): string {
  return evidence === 'trusted-publisher' ? 'trusted publisher' : evidence;
}

/** "postinstall: node x.js" — the hooks in the order npm runs them. */
export function describeScriptMap(scripts: ScriptMap): string {
  return [...INSTALL_HOOKS, 'prepare' as const]
    .filter((hook) => scripts[hook] !== undefined)
    .map((hook) => `${hook}: ${scripts[hook]}`)
    .join('; ');
}

/** The registry's tarball URL of a version, as npm writes `resolved`. */
function tarballUrl(registry: string, name: string, version: string): string {
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return `${registry.replace(/\/?$/, '/')}${name}/-/${base}-${version}.tgz`;
}
